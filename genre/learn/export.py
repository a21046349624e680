"""Taking things out of the workbench and bringing a model back in.

A model bundle travels as a zip of its folder (``<name>/bundle.json`` and ``<name>/model.keras``).
A zip from elsewhere is untrusted: :func:`import_bundle_zip` reads only those two files, refuses
archives that try to write outside their folder or unpack to far more than they weigh, and loads
the model with Keras ``safe_mode`` (and the bundle's shape checks) before it appears in the models
folder. Features leave as the store's ``.npz`` or as the notebook's JSON.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from genre.atomic import current_umask
from genre.errors import BundleError, FeatureStoreError
from genre.learn.bundle import INFO_FILE, MODEL_FILE, load_bundle, reserve_bundle_path
from genre.learn.model import ARCHIVE_CLASSES

MAX_MEMBERS = 64  # a bundle zip holds two files (plus folders, or a Mac's __MACOSX litter)
MAX_UNPACKED_BYTES = 2 << 30  # 2 GiB: far above a big dense network with its optimizer state
CHUNK = 1 << 20


def bundle_zip(path: str | Path) -> bytes:
    """The bundle folder ``path`` as zip bytes: ``<folder name>/bundle.json`` and ``<folder name>/model.keras``.

    Raises
    ------
    BundleError
        ``path`` is not a complete bundle folder.
    """
    path = Path(path)
    missing = [f for f in (INFO_FILE, MODEL_FILE) if not (path / f).is_file()]
    if missing:
        raise BundleError(f"{path} is not a complete model bundle: {', '.join(missing)} missing")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in (INFO_FILE, MODEL_FILE):
            zf.write(path / name, f"{path.name}/{name}")
    return buf.getvalue()


KERAS_ARCHIVE_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}


def check_model_archive(path: str | Path) -> None:
    """Refuse a ``.keras`` archive that names anything a model of this workbench cannot hold, before Keras reads it.

    Keras' ``safe_mode`` has had published bypasses; here an imported model's ``config.json`` may name only
    the layers, regularisers, initializers and optimizer of :data:`genre.learn.model.ARCHIVE_CLASSES` (no Lambda,
    no custom object, no module outside Keras), and the archive may hold only Keras' own three files.

    Raises
    ------
    BundleError
        Saying what it named.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            extra = sorted(set(zf.namelist()) - KERAS_ARCHIVE_MEMBERS)
            if extra:
                raise BundleError(f"{MODEL_FILE} holds files a Keras model does not: {', '.join(extra[:5])}")
            if zf.getinfo("config.json").file_size > 16 << 20:
                raise BundleError(f"{MODEL_FILE}'s config.json is implausibly large")
            config = json.loads(zf.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise BundleError(f"{MODEL_FILE} is not a readable Keras archive ({exc.__class__.__name__})") from None
    for module, name, registered in _named_classes(config):
        if name == "__keras_tensor__" and module is None:
            continue
        if (module, name) not in ARCHIVE_CLASSES or registered not in (None, name):
            what = f"{module}.{name}" if module else str(name)
            raise BundleError(f"the model names {what}{f' ({registered})' if registered not in (None, name) else ''}, "
                              "which no network of this workbench uses: not loaded (only the layers of its dense, "
                              "CNN and LSTM networks are accepted)")


def _named_classes(node):
    """``(module, class_name, registered_name)`` of every object a Keras config names, however deep."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "class_name" in item:
                yield item.get("module"), item.get("class_name"), item.get("registered_name")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def import_bundle_zip(data: bytes, models_dir: str | Path, *, name: str | None = None,
                      max_bytes: int = MAX_UNPACKED_BYTES, check_model=None) -> Path:
    """Add the bundle in zip ``data`` (untrusted) to ``models_dir``; the new bundle's folder.

    The two files may sit at the top of the zip or in one top folder. They are unpacked into a
    hidden temporary folder inside ``models_dir``, loaded (Keras ``safe_mode``, shapes checked)
    and only then renamed to a new folder of their own, so a bad zip never shows up as a model.

    Parameters
    ----------
    data : bytes
        The zip, as uploaded.
    models_dir : path
    name : str, optional
        The new bundle's name (its folder is ``slug(name)``, ``-2``... when taken). Defaults to the
        name in its ``bundle.json``, else the zip's top folder.
    max_bytes : int
        At most this many bytes unpacked (a guard against zip bombs).
    check_model : callable, optional
        ``check_model(folder)`` loads the unpacked bundle somewhere else and raises BundleError when it does
        not load (the app's :class:`genre.jobs.predictor.Predictor`, so that its server never runs Keras); by
        default it is loaded here.

    Raises
    ------
    BundleError
        Not a zip, an unsafe or oversized one, missing parts, or a model that does not load.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".import-", dir=models_dir))
    target = None
    try:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                folder = _bundle_members(zf, max_bytes)
                budget = max_bytes
                for part in (INFO_FILE, MODEL_FILE):
                    budget -= _unpack(zf, folder + part, tmp / part, budget)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
            # RuntimeError: an encrypted member; NotImplementedError: an unknown compression method
            raise BundleError(f"not a readable zip of a model bundle ({exc.__class__.__name__}: {exc})") from None
        try:
            check_model_archive(tmp / MODEL_FILE)  # before Keras sees it
            if check_model is not None:
                check_model(tmp)
            bundle = load_bundle(tmp, load_model=check_model is None)
        except BundleError as exc:  # it names the hidden temporary folder: name the zip instead
            raise BundleError(str(exc).replace(f"{tmp}/", "").replace(str(tmp), "the zip's bundle")) from None
        wanted = name or bundle.info.get("name")
        wanted = (wanted if isinstance(wanted, str) else "").strip() or folder.rstrip("/") or "imported"
        target = reserve_bundle_path(models_dir, wanted)  # the folder: the name made safe, -2... when taken
        info = {**bundle.info, "name": wanted, "imported": time.strftime("%Y-%m-%d %H:%M:%S")}
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp's folder is private
        os.replace(tmp, target)  # onto the reserved, empty folder
        return target
    except BaseException:
        if target is not None and target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bundle_members(zf: zipfile.ZipFile, max_bytes: int) -> str:
    """The folder prefix (``""`` or ``"name/"``) of the bundle in ``zf``, after checking every member."""
    members = zf.infolist()
    if len(members) > MAX_MEMBERS:
        raise BundleError(f"the zip has {len(members)} entries; a model bundle has 2 (at most {MAX_MEMBERS} accepted)")
    declared = 0
    for info in members:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
            raise BundleError(f"the zip has an unsafe path {name!r} (absolute, or leaving its folder)")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise BundleError(f"the zip has a symbolic link {name!r}; a model bundle has none")
        declared += info.file_size
    if declared > max_bytes:
        raise BundleError(f"the zip unpacks to {declared:,} bytes, more than the {max_bytes:,} accepted")
    names = {i.filename for i in members if not i.is_dir()}
    folders = sorted({n[: -len(INFO_FILE)] for n in names
                      if n.rsplit("/", 1)[-1] == INFO_FILE and n.count("/") <= 1 and not n.startswith("__MACOSX/")})
    if not folders:
        raise BundleError(f"the zip holds no model bundle: no {INFO_FILE} at its top or in one top folder")
    if len(folders) > 1:
        raise BundleError(f"the zip holds {len(folders)} bundles ({', '.join(f or 'top level' for f in folders)}); "
                          "import one at a time")
    folder = folders[0]
    if folder + MODEL_FILE not in names:
        raise BundleError(f"the zip's bundle is incomplete: {folder}{MODEL_FILE} is missing")
    return folder


def _unpack(zf: zipfile.ZipFile, member: str, dest: Path, budget: int) -> int:
    """Copy ``member`` to ``dest``, stopping past ``budget`` bytes whatever its header claims; bytes written."""
    written = 0
    with zf.open(member) as src, open(dest, "wb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > budget:
                raise BundleError(f"{member} unpacks to more than the {budget:,} bytes left of the limit "
                                  "(a zip bomb?)")
            out.write(chunk)
    return written


def features_npz_bytes(store_path: str | Path) -> bytes:
    """The feature store's ``.npz`` as bytes (``np.load`` reads it; see :mod:`genre.data.store`)."""
    try:
        return Path(store_path).read_bytes()
    except OSError as exc:
        raise FeatureStoreError(f"cannot read the feature store {store_path}: {exc.strerror or exc}") from None


def features_json_bytes(fs) -> bytes:
    """The notebook's JSON of ``fs`` (``mapping``, ``mfcc``, ``labels``), as :func:`genre.data.store.export_json` writes it."""
    from genre.data.store import export_json

    with tempfile.TemporaryDirectory(prefix="genre-json-") as tmp:
        return export_json(fs, Path(tmp) / "features.json").read_bytes()


__all__ = ["MAX_MEMBERS", "MAX_UNPACKED_BYTES", "bundle_zip", "features_json_bytes", "features_npz_bytes",
           "import_bundle_zip"]
