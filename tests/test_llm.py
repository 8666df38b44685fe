"""Optional LLM mode against a stub OpenAI-compatible server on loopback."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.engine import Assistant
from assistant.llm import check_citations

QUESTION = "Điều kiện thành lập khu công nghệ cao là gì?"


class _Stub(BaseHTTPRequestHandler):
    behaviour = "good"  # good | foreign | slow | error | uncited

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        prompt = body["messages"][-1]["content"]
        mode = type(self).behaviour
        if mode == "slow":
            time.sleep(3)
        if mode == "error":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b'{"error": "boom"}')
            return
        if mode == "good":
            text = "Khu công nghệ cao phải đáp ứng các điều kiện luật định [1]."
        elif mode == "foreign":
            text = ("Khu công nghệ cao phải đáp ứng các điều kiện luật định [1]. "
                    "Nhà đầu tư được miễn thuế 20 năm [9].")
        else:
            text = "Đây là câu không có căn cứ."
        assert "[1]" in prompt  # the provisions are numbered in the prompt
        out = {"id": "x", "object": "chat.completion", "created": 0, "model": body.get("model", "stub"),
               "choices": [{"index": 0, "finish_reason": "stop",
                            "message": {"role": "assistant", "content": text}}],
               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def stub_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _assistant(small_settings, url, timeout=10.0) -> Assistant:
    s = small_settings.model_copy(update={"llm_base_url": url, "llm_model": "stub", "llm_timeout_s": timeout})
    return Assistant(s)


def test_check_citations_drops_unsupported_sentences():
    text, cited, dropped = check_citations("A [1]. B [3]. C. D [2][1].", {1, 2})
    assert text == "A [1]. D [2][1]."
    assert cited == [1, 2] and dropped == 2


def test_llm_answer_keeps_only_retrieved_citations(small_settings, stub_url):
    _Stub.behaviour = "good"
    ans = _assistant(small_settings, stub_url).answer(QUESTION)
    assert ans.mode == "llm" and not ans.refused
    assert ans.lead.endswith("[1].")
    assert [c.index for c in ans.citations] == [1]


def test_llm_citing_a_provision_not_retrieved_is_removed(small_settings, stub_url):
    _Stub.behaviour = "foreign"
    ans = _assistant(small_settings, stub_url).answer(QUESTION)
    assert "[9]" not in ans.answer and "20 năm" not in ans.answer
    assert any("Đã loại 1 câu" in n for n in ans.notes)


def test_llm_uncited_answer_falls_back_to_extractive(small_settings, stub_url):
    _Stub.behaviour = "uncited"
    ans = _assistant(small_settings, stub_url).answer(QUESTION)
    assert ans.mode != "llm" and ans.citations
    assert "không kiểm chứng được" in ans.answer


@pytest.mark.parametrize("behaviour", ["slow", "error"])
def test_llm_down_or_slow_returns_extractive_within_limit(small_settings, stub_url, behaviour):
    _Stub.behaviour = behaviour
    a = _assistant(small_settings, stub_url, timeout=1.0)
    t = time.perf_counter()
    ans = a.answer(QUESTION)
    assert time.perf_counter() - t < 8  # 1 s timeout plus the extractive path
    assert ans.citations and ans.mode != "llm"
    assert any("không phản hồi" in n for n in ans.notes)


def test_llm_endpoint_unreachable(small_settings):
    ans = _assistant(small_settings, "http://127.0.0.1:9/v1", timeout=1.0).answer(QUESTION)
    assert ans.citations and any("không phản hồi" in n for n in ans.notes)
