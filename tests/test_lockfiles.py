"""The requirements files are complete locks with hashes, generated from the .in files."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", re.M)


def _pins(path: Path) -> dict[str, str]:
    return {
        name.lower().replace("_", "-"): version for name, version in PIN.findall(path.read_text())
    }


def test_every_locked_package_is_pinned_with_a_hash():
    for name in ("requirements.txt", "requirements-dev.txt"):
        text = (ROOT / name).read_text()
        blocks = [b for b in re.split(r"\n(?=[A-Za-z0-9])", text) if PIN.match(b)]
        assert blocks, name
        for block in blocks:
            assert "--hash=sha256:" in block, f"{name}: {block.splitlines()[0]} has no hash"
        # Nothing included from elsewhere, no machine-specific wheel folder.
        assert not re.search(r"^-r ", text, re.M)
        assert not re.search(r"^--find-links", text, re.M)


def test_the_locks_hold_every_package_of_the_in_files_at_its_pin():
    for lock, source in (
        ("requirements.txt", "requirements.in"),
        ("requirements-dev.txt", "requirements-dev.in"),
    ):
        locked = _pins(ROOT / lock)
        wanted = _pins(ROOT / source)
        if source == "requirements-dev.in":
            wanted |= _pins(ROOT / "requirements.in")
        for name, version in wanted.items():
            name = name.split("[")[0]
            assert locked.get(name) == version, f"{lock}: {name} is not locked at {version}"


def test_dev_script_installs_with_required_hashes():
    assert '"--require-hashes"' in (ROOT / "scripts" / "dev.py").read_text()
