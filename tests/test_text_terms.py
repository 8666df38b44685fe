"""Text normalisation, accent folding and lexical terms (underthesea compounds + folded syllables/bigrams)."""
from __future__ import annotations

import json
import unicodedata

import pytest

from indexing.lexical import LexicalIndex
from indexing.terms import FOLD, STOP, SegmentCache, compounds, document_terms, folded_features, query_terms
from indexing.text import fold, has_diacritics, normalize, syllables

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731

DOC = "Doanh nghiệp công nghệ cao được miễn thuế thu nhập doanh nghiệp và được thuê đất trong khu công nghệ cao."


# ------------------------------------------------------------------------------------------------ normalize
@pytest.mark.parametrize("raw,expected", [
    ("hoà", "hòa"), ("Hoà bình", "Hòa bình"), ("HOÀ", "HÒA"), ("thuý", "thúy"), ("khoẻ", "khỏe"),
    ("hoá đơn", "hóa đơn"), ("kế hoạ", "kế họa"), ("Uỷ ban", "Ủy ban"), ("tuỳ theo", "tùy theo"),
    ("toà, án", "tòa, án"),
    # unchanged: "qu" is a consonant, closed syllables and other vowel groups keep their mark
    ("quý", "quý"), ("Quý", "Quý"), ("QUÝ", "QUÝ"), ("hoàn thành", "hoàn thành"), ("quyền", "quyền"),
    ("tuyển dụng", "tuyển dụng"), ("khuyến khích", "khuyến khích"), ("Nguyễn", "Nguyễn"), ("thuở", "thuở"),
    # a mark after the tone closes nothing: "hoặc" (o-a-dot-breve-c) is not an open "oa" syllable
    ("hoặc", "hoặc"), ("Hoặc là", "Hoặc là"), ("xoắn", "xoắn"),
])
def test_tone_placement(raw, expected):
    assert normalize(raw) == expected
    assert normalize(NFD(raw)) == expected  # decomposed input gives the same composed output
    assert unicodedata.is_normalized("NFC", normalize(NFD(raw)))


def test_nfc_and_nfd_inputs_agree():
    text = "Khu công nghệ cao được ưu đãi về thuế thu nhập doanh nghiệp; hoà nhập, thuỷ lợi, khoẻ mạnh."
    assert NFD(text) != text
    assert normalize(NFD(text)) == normalize(text)
    assert "hòa nhập, thủy lợi, khỏe mạnh" in normalize(text)


def test_quotes_spaces_and_invisible_characters():
    assert normalize("“trích dẫn” ‘x’ «y»") == "\"trích dẫn\" 'x' \"y\""
    assert normalize("\ufeffa\u00a0 b\t  c\u200b\n\nd  ") == "a b c\n\nd"


@pytest.mark.parametrize("text", ["hoà  thuý\tkhoẻ", NFD("Quý khách hoà giải"), "“x”", "", "Điều 1.\n  a) b"])
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


# ------------------------------------------------------------------------------------------------ fold, diacritics
def test_fold():
    assert fold("Đường") == "Duong"
    assert fold("đường") == "duong"
    assert fold("Công nghệ cao") == "Cong nghe cao"
    assert fold(NFD("Thuế thu nhập")) == "Thue thu nhap"
    assert fold("thuế") == fold("thuê") == "thue"
    assert fold("abc 123") == "abc 123"


def test_has_diacritics():
    assert has_diacritics("công nghệ") and has_diacritics("Đ") and has_diacritics("ĐẤT") and has_diacritics("ư")
    assert not has_diacritics("cong nghe cao") and not has_diacritics("Duong") and not has_diacritics("")
    assert has_diacritics(normalize(NFD("thuế")))


def test_syllables():
    assert syllables("Khoản 2, Điều 22.") == ["khoản", "2", "điều", "22"]


# ------------------------------------------------------------------------------------------------ terms
def test_underthesea_compounds():
    words = compounds("Doanh nghiệp công nghệ cao trong khu công nghệ cao.")
    assert "công_nghệ_cao" in words and "doanh_nghiệp" in words
    assert "." not in words and all(w == w.lower() for w in words)


def test_document_terms_have_accented_compounds_and_folded_features():
    terms = document_terms(DOC)
    assert "công_nghệ_cao" in terms and ("thuế_thu_nhập" in terms or "thuế" in terms)
    assert "thuê" in terms  # rent and tax stay apart on the accented side …
    assert terms.count(FOLD + "thue") == 2  # … and meet on the folded side
    assert FOLD + "cong_nghe" in terms and FOLD + "nghe_cao" in terms
    assert "và" not in terms and FOLD + "va" not in terms  # stop words: no unigram
    assert all(not t.startswith(FOLD) or t == t.lower() for t in terms)


def test_folded_features_skip_stopword_only_bigrams():
    feats = folded_features("của các doanh nghiệp")
    assert FOLD + "cua_cac" not in feats
    assert FOLD + "cac_doanh" in feats and FOLD + "doanh_nghiep" in feats


def test_accentless_query_uses_folded_features_only():
    q = query_terms("doanh nghiep cong nghe cao")
    assert q and all(t.startswith(FOLD) for t in q)
    assert FOLD + "cong_nghe" in q and FOLD + "nghe_cao" in q


def test_accented_query_adds_compounds_and_shares_folded_part():
    accented = query_terms("Doanh nghiệp công nghệ cao")
    accentless = query_terms("doanh nghiep cong nghe cao")
    assert "công_nghệ_cao" in accented and "doanh_nghiệp" in accented
    assert [t for t in accented if t.startswith(FOLD)] == accentless


@pytest.mark.parametrize("q", ["doanh nghiep cong nghe cao", "DOANH NGHIEP cong nghe cao", "mien thue thu nhap",
                               "thue dat trong khu cong nghe cao"])
def test_accentless_query_terms_are_in_the_accented_document(q):
    doc_terms = set(document_terms(DOC))
    assert set(query_terms(q)) <= doc_terms


def test_nfd_query_equals_nfc_query():
    q = "Khu công nghệ cao được ưu đãi gì?"
    assert query_terms(NFD(q)) == query_terms(q)


def test_bm25_matches_accentless_question():
    texts = [DOC, "Người lao động nước ngoài làm việc tại Việt Nam phải có giấy phép lao động.",
             "Nhà đầu tư được giao đất, cho thuê đất để thực hiện dự án đầu tư."]
    idx = LexicalIndex.build(["a", "b", "c"], [document_terms(t) for t in texts])
    for q in ("mien thue thu nhap doanh nghiep cong nghe cao", "miễn thuế thu nhập doanh nghiệp công nghệ cao"):
        s = idx.scores(query_terms(q))
        assert idx.ids[int(s.argmax())] == "a", q
    s = idx.scores(query_terms("giay phep lao dong nguoi nuoc ngoai"))
    assert idx.ids[int(s.argmax())] == "b"
    assert not idx.scores([]).any()


def test_stop_list_is_folded():
    assert all(w == fold(w) for w in STOP)


# ------------------------------------------------------------------------------------------------ SegmentCache
def test_segment_cache_hits_misses_and_persistence(tmp_path):
    path = tmp_path / "cache" / "segments.json"
    c = SegmentCache(path)
    a = "Khu công nghệ cao được ưu đãi."
    w1 = c.words(a)
    assert (c.hits, c.misses) == (0, 1)
    assert c.words(a) == w1 and (c.hits, c.misses) == (1, 1)
    assert c.words(NFD(a)) == w1 and c.hits == 2  # keyed on the normalised text
    c.words("Người lao động nước ngoài.")
    assert c.misses == 2
    c.save()
    c2 = SegmentCache(path)
    assert c2.words(a) == w1 and (c2.hits, c2.misses) == (1, 0)


def test_segment_cache_save_keeps_only_live_texts(tmp_path):
    path = tmp_path / "segments.json"
    c = SegmentCache(path)
    keep, drop = "Doanh nghiệp công nghệ cao.", "Văn bản đã xoá khỏi kho."
    c.words(keep)
    c.words(drop)
    c.save(keep={SegmentCache.key(normalize(keep))})
    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(data) == [SegmentCache.key(normalize(keep))]
    assert not list(tmp_path.glob("*.tmp"))


def test_damaged_segment_cache_only_costs_time(tmp_path):
    path = tmp_path / "segments.json"
    path.write_text("{not json", encoding="utf-8")
    c = SegmentCache(path)
    assert c.data == {}
    assert "công_nghệ_cao" in c.words("Khu công nghệ cao") and c.misses == 1


# ------------------------------------------------------------------------------------------------ glossary
def test_english_glossary_gives_the_texts_wording_once():
    from assistant.query import english_glossary

    exp = english_glossary("Can a foreign expert working in a high-tech park renew his work permit online?")
    for phrase in ("khu công nghệ cao", "giấy phép lao động", "gia hạn"):
        assert phrase in exp
    assert exp.count("giấy phép lao động") == 1  # overlapping entries add a phrase once


def test_glossary_file_errors_name_the_entry(tmp_path):
    from assistant.query import load_glossary

    bad = tmp_path / "g.yaml"
    bad.write_text('- en: "work permits?"\n  vi: "giấy phép lao động"\n- en: "(unclosed"\n  vi: "x"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"entry 2 .*not a valid regular expression"):
        load_glossary(bad)
    bad.write_text('- en: "tax"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="entry 1 must have text fields"):
        load_glossary(bad)


def test_shipped_glossary_loads():
    from assistant.query import GLOSSARY_FILE, load_glossary

    assert len(load_glossary(GLOSSARY_FILE)) > 300
