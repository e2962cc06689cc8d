"""What a dataset is, and where each of its folders lives (the folder contract, written once).

    data-set/<name>/<NNN>/class.csv
    data-set/<name>/<NNN>/{train,val,test}/<label>/<video>.{avi,mp4}
    data-temp/<name>/<NNN>-<frames>/image/<split>/<label>/<video>/frame0000.jpg
    data-temp/<name>/<NNN>-<frames>/oflow/<split>/<label>/<video>/flow000.jpg
    model/<stamp>-<name><NNN>-<stream>-i3d-{above,entire}-{last,best}.keras
    log/<stamp>-<name><NNN>-<stream>-i3d.csv

Importable without TensorFlow: the data-preparation scripts use it too.
"""
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class VideoSet:
    """A dataset and the input size the network sees.

    Args:
        name: folder name under data-set/ ("demo", "chalearn").
        num_classes: number of labels; also the <NNN> folder ("010").
        num_frames: frames per clip after resampling (the seed: 40).
        min_dim_px: the smaller side after resizing, before the crop (the seed: 240).
        crop_px: square crop the network sees (the seed: 224).
        fps: nominal frame rate of the videos (for the live demo's recording length).
        duration_s: nominal clip length in seconds (the live demo records this long).
        root: folder holding data-set/, data-temp/, model/ and log/.
    """

    name: str
    num_classes: int
    num_frames: int = 40
    min_dim_px: int = 240
    crop_px: int = 224
    fps: float = 25.0
    duration_s: float = 5.0
    root: Path = Path(".")

    def __post_init__(self):
        if self.num_classes < 2:
            raise ValueError(f"VideoSet {self.name!r}: num_classes={self.num_classes}; a classifier needs at least 2")
        if self.crop_px > self.min_dim_px:
            raise ValueError(
                f"VideoSet {self.name!r}: crop_px={self.crop_px} is larger than min_dim_px={self.min_dim_px}; "
                "the crop must fit inside the resized frame"
            )

    @property
    def nnn(self) -> str:
        return f"{self.num_classes:03d}"

    @property
    def video_dir(self) -> Path:
        return self.root / "data-set" / self.name / self.nnn

    @property
    def class_file(self) -> Path:
        return self.video_dir / "class.csv"

    @property
    def temp_dir(self) -> Path:
        return self.root / "data-temp" / self.name / f"{self.nnn}-{self.num_frames}"

    @property
    def image_dir(self) -> Path:
        return self.temp_dir / "image"

    @property
    def flow_dir(self) -> Path:
        return self.temp_dir / "oflow"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def tag(self) -> str:
        """The <name><NNN> part of checkpoint and log names, e.g. "demo010"."""
        return f"{self.name}{self.nnn}"


# The built-in demo set (prepare_demo.py). Small input so that `make demo` trains on a laptop CPU:
# 16 frames at 128x128 costs ~1/8 of the seed's 40x224x224 per clip.
DEMO_SET = VideoSet("demo", num_classes=10, num_frames=16, min_dim_px=128, crop_px=128, fps=25.0, duration_s=3.0)
# ChaLearn IsoGD subsets (prepare_chalearn.py) with the seed's 40 frames x 224 px.
CHALEARN_020 = VideoSet("chalearn", num_classes=20, num_frames=40, min_dim_px=240, crop_px=224, fps=10.0, duration_s=5.0)
CHALEARN_249 = VideoSet("chalearn", num_classes=249, num_frames=40, min_dim_px=240, crop_px=224, fps=10.0, duration_s=5.0)
