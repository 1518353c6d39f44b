"""How the NLU is built: backend, where models live, thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class NLUSettings:
    backend: str = "embedded"  # "embedded" | "rasa"
    model_dir: Path = field(default_factory=lambda: Path("var/models"))
    data_dir: Path = PACKAGE_DATA  # nlu*.yml, userdict.txt, crisis.yml
    # Below this confidence the intent falls back to out_of_scope (Rasa's FallbackClassifier).
    threshold: float = 0.45
    rasa_url: str | None = None
    rasa_timeout: float = 2.0
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if self.backend not in ("embedded", "rasa"):
            raise ValueError(f"nlu backend must be 'embedded' or 'rasa', not {self.backend!r}")
        if self.backend == "rasa" and not self.rasa_url:
            raise ValueError("nlu backend 'rasa' needs rasa_url")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"nlu threshold must be within 0..1, not {self.threshold}")
        if self.rasa_timeout <= 0:
            raise ValueError(f"rasa_timeout must be positive, not {self.rasa_timeout}")
        # Accept strings from config files.
        object.__setattr__(self, "model_dir", Path(self.model_dir))
        object.__setattr__(self, "data_dir", Path(self.data_dir))

    @property
    def crisis_cues(self) -> Path:
        path = self.data_dir / "crisis.yml"
        return path if path.exists() else PACKAGE_DATA / "crisis.yml"

    @property
    def user_dictionary(self) -> Path | None:
        for path in (self.data_dir / "userdict.txt", PACKAGE_DATA / "userdict.txt"):
            if path.exists():
                return path
        return None
