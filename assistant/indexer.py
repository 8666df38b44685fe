"""Settings → index build options: one place shared by the CLI, the admin endpoint, tests and benchmarks."""
from __future__ import annotations

from indexing.build import BuildOptions, BuildResult, Progress, build_index

from .config import Settings


def build_options(s: Settings, rebuild: bool = False, lexical_only: bool = False,
                  only: set[str] | None = None) -> BuildOptions:
    return BuildOptions(corpus_dir=s.corpus_dir, index_dir=s.index_dir, embed_backend=s.embed_backend,
                        embed_model=s.embed_model, embed_batch_size=s.embed_batch_size,
                        embed_max_chars=s.embed_max_chars, hub_downloads=s.hub_downloads, chroma_url=s.chroma_url,
                        rebuild=rebuild, lexical_only=lexical_only,
                        only=only if only is not None else (set(s.documents) if s.documents else None))


def build(s: Settings, progress: Progress | None = None, rebuild: bool = False, lexical_only: bool = False,
          on_lexical_ready=None) -> BuildResult:
    return build_index(build_options(s, rebuild, lexical_only), progress, on_lexical_ready)
