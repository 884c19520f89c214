#!/usr/bin/env python3
"""Writes the seed corpora of sepconv's fuzz targets (tests/fuzz/corpus/<target>/).

    python3 tests/fuzz/make_corpus.py      # from the repository root, with h5py (the golden venv)

Seeds, each small (the largest are the model files, under 60 KB):
  npy           three arrays of tests/data/keras_models and hand-made ones: rank 0 to 3,
                float32 / float16, Fortran order, format versions 1.0, 2.0 and 3.0, an empty array;
  keras_config  the configs of tests/data/keras_models (two models' to_json(), three layers'
                get_config()) and hand-made ones: the smallest config, the serialized form, a dtype
                policy object, lists and integral floats, a nested Sequential;
  keras_hdf5    the HDF5 files of tests/data/keras_models (a Keras 3 .weights.h5, a legacy .h5
                model and weights file) and variants of them written with h5py: a group that
                holds its own ancestor (a hard-link cycle), a soft link where a layer's variables
                belong, a dataset whose declared shape the file does not store;
  keras_hdf5_edit  one byte per base file (k3_model.weights.h5, tk_model.h5, tk_model_weights.h5):
                the unedited files; and two edits: unterminated fixed-length string attributes;
  keras_zip     the .keras archive of tests/data/keras_models, the same deflated, and archives
                without model.weights.h5, with sharded weights, with a config.json that is not JSON.
The inputs of past findings (regress-*) are kept: this script replaces only the files it writes.
Deterministic: the same files every run.
"""
import io
import json
import os
import struct
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "tests", "data", "keras_models")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def model_file(name):
    with open(os.path.join(MODELS, name), "rb") as f:
        return f.read()


# ---- .npy ----------------------------------------------------------------------------------------

def npy(descr, shape, values, fortran=False, version=(1, 0)):
    """The bytes np.save writes (header padded to 64 bytes), for any version."""
    shape_text = "(" + "".join(f"{d}, " for d in shape)[:-2] + ("," if len(shape) == 1 else "") + ")"
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, }}"
    prefix = 6 + 2 + (2 if version[0] == 1 else 4)
    pad = (64 - (prefix + len(header) + 1) % 64) % 64
    header = (header + " " * pad + "\n").encode("latin1" if version[0] < 3 else "utf8")
    length = struct.pack("<H" if version[0] == 1 else "<I", len(header))
    fmt = "<%d%s" % (len(values), "f" if descr == "<f4" else "e")
    return b"\x93NUMPY" + bytes(version) + length + header + struct.pack(fmt, *values)


def npy_seeds():
    for source, name in [("k3_model/sep_h.input.npy", "model_f16_rank3.npy"),
                         ("k3_model/sep_bf.input.npy", "model_f32_rank3.npy"),
                         ("tk_model/half.input.npy", "model_f16_rank3_b.npy")]:
        write("npy", name, model_file(source))
    write("npy", "scalar_f32.npy", npy("<f4", (), [1.5]))
    write("npy", "vector_f16.npy", npy("<f2", (3,), [1.0, -2.0, 0.5]))
    write("npy", "matrix_f32_fortran.npy", npy("<f4", (2, 3), [float(i) for i in range(6)], fortran=True))
    write("npy", "rank3_f16_fortran.npy", npy("<f2", (2, 3, 2), [float(i) for i in range(12)], fortran=True))
    write("npy", "rank3_f32.npy", npy("<f4", (2, 2, 3), [i / 4 for i in range(12)]))
    write("npy", "empty_f32.npy", npy("<f4", (0, 4), []))
    write("npy", "version2.npy", npy("<f4", (2, 2), [1, 2, 3, 4], version=(2, 0)))
    write("npy", "version3.npy", npy("<f2", (4,), [1, 2, 3, 4], version=(3, 0)))


# ---- config JSON ---------------------------------------------------------------------------------

def config_seeds():
    for name in ["k3_model.json", "tk_model.json", "k3_model.layer.sep.json",
                 "k3_model.layer.sep_a.json", "tk_model.layer.sep_s.json"]:
        write("keras_config", name, model_file(name))
    layer = {"name": "sep", "filters": 4, "kernel_size": [3], "strides": [1], "padding": "causal",
             "data_format": "channels_first", "dilation_rate": [2], "depth_multiplier": 2,
             "activation": "relu", "use_bias": True, "dtype": "mixed_float16"}
    seeds = {
        "minimal.json": {"filters": 2, "kernel_size": 3},
        "layer.json": layer,
        "serialized.json": {"class_name": "SeparableConv1D", "config": layer},
        "policy_object.json": dict(layer, dtype={"module": "keras", "class_name": "DTypePolicy",
                                                 "config": {"name": "bfloat16"}}),
        "integral_floats.json": dict(layer, kernel_size=3.0, strides=2, dilation_rate=1.0,
                                     padding="VALID", activation=None, data_format=None),
        "nested_sequential.json": {
            "class_name": "Functional", "config": {"name": "m", "layers": [
                {"class_name": "InputLayer", "name": "x", "config": {"name": "x"}},
                {"class_name": "Sequential", "name": "block", "config": {"name": "block", "layers": [
                    {"class_name": "SeparableConv1D", "config": dict(layer, name="inner"),
                     "build_config": {"input_shape": [None, 8, 3]}}]}},
                {"class_name": "SeparableConv1D", "config": dict(layer, name="outer")}]}},
    }
    for name, value in seeds.items():
        write("keras_config", name, json.dumps(value).encode())


# ---- HDF5 ----------------------------------------------------------------------------------------

def h5_variant(source, edit):
    """A copy of a model file edited with h5py, as bytes."""
    import h5py
    buf = io.BytesIO(model_file(source))
    with h5py.File(buf, "r+") as f:
        edit(f)
    return buf.getvalue()


def hdf5_seeds():
    for name in ["k3_model.weights.h5", "tk_model.h5", "tk_model_weights.h5"]:
        write("keras_hdf5", name, model_file(name))
    try:
        import h5py  # noqa: F401
    except ImportError:
        sys.exit("make_corpus.py: the HDF5 variants need h5py (~/.cache/sepconv-golden-venv)")

    def cycle(f):  # a nested model's layers group that holds the top-level layers group
        f["layers/sequential/layers/loop"] = f["layers"]

    def soft_link(f):  # a soft link where a layer's variables belong
        del f["layers/separable_conv1d/vars"]
        f["layers/separable_conv1d/vars"] = __import__("h5py").SoftLink("/layers/separable_conv1d_1/vars")

    def unstored(f):  # a declared shape of 2^40 elements, nothing stored
        del f["layers/separable_conv1d/vars/0"]
        f.create_dataset("layers/separable_conv1d/vars/0", shape=(1 << 20, 1 << 10, 1),
                         dtype="<f4", chunks=(1, 1, 1))

    write("keras_hdf5", "k3_weights_cycle.h5", h5_variant("k3_model.weights.h5", cycle))
    write("keras_hdf5", "k3_weights_soft_link.h5", h5_variant("k3_model.weights.h5", soft_link))
    write("keras_hdf5", "k3_weights_unstored.h5", h5_variant("k3_model.weights.h5", unstored))


# ---- zip -----------------------------------------------------------------------------------------

def archive(members, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            z.writestr(info, data)
    return buf.getvalue()


def zip_seeds():
    original = model_file("k3_model.keras")
    write("keras_zip", "k3_model.keras", original)
    with zipfile.ZipFile(io.BytesIO(original)) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    weights = dict(members)["model.weights.h5"]
    config = dict(members)["config.json"]
    write("keras_zip", "deflated.keras", archive(members, zipfile.ZIP_DEFLATED))
    write("keras_zip", "no_weights.keras", archive([("config.json", config)]))
    write("keras_zip", "sharded.keras", archive([("config.json", config),
                                                  ("model.weights.json", b"{}")]))
    write("keras_zip", "config_not_json.keras", archive([("config.json", b"{not json"),
                                                          ("model.weights.h5", weights)]))


def main():
    for target in ["npy", "keras_config", "keras_hdf5", "keras_hdf5_edit", "keras_zip"]:
        folder = os.path.join(CORPUS, target)
        if os.path.isdir(folder):  # keep the inputs of past findings
            for name in os.listdir(folder):
                if not name.startswith("regress-"):
                    os.remove(os.path.join(folder, name))
    npy_seeds()
    config_seeds()
    hdf5_seeds()
    # fuzz_keras_hdf5_edit: its first byte picks the base file, the rest are edits (none here),
    # and two programs (fuzz_keras_hdf5_edit.cpp reads them): fixed-length string attributes
    # without a terminator, as tf.keras writes names, in two places sepconv reads.
    for index, name in enumerate(["k3_weights", "tk_model", "tk_weights"]):
        write("keras_hdf5_edit", name, bytes([index]))
    # k3: object 9 (/layers/separable_conv1d/vars), attribute (op 4) "name" (6), fixed strings
    # (1), one value (1), a name (1) "sep" (11), 1-D (1), NULLPAD (1).
    write("keras_hdf5_edit", "k3_vars_name_nullpad", bytes([0, 9, 4, 6, 1, 1, 1, 11, 1, 1]))
    # tk weights: the root (0), attribute "layer_names" (3), fixed strings, two values "stage"
    # (13) and "sep" (11), 1-D, SPACEPAD (2).
    write("keras_hdf5_edit", "tk_layer_names_spacepad", bytes([2, 0, 4, 3, 1, 2, 1, 13, 1, 11, 1, 2]))
    zip_seeds()
    for target in sorted(os.listdir(CORPUS)):
        names = os.listdir(os.path.join(CORPUS, target))
        size = sum(os.path.getsize(os.path.join(CORPUS, target, n)) for n in names)
        print(f"{target}: {len(names)} inputs, {size} bytes")


if __name__ == "__main__":
    main()
