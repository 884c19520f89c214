// Fuzz target: Keras HDF5 files, structure-aware. Raw HDF5 bytes mostly exercise the HDF5
// library's own parser (not instrumented, and in Debian's 1.10 it can loop forever on a corrupt
// global heap: fuzz_keras_hdf5 finds such inputs, which are not sepconv's to fix). Here every file
// HDF5 reads is one HDF5 itself wrote: the input picks one of the HDF5 files of
// tests/data/keras_models (a Keras 3 .weights.h5, a legacy .h5 model, a legacy weights .h5) and a
// list of edits applied to it through the HDF5 API, in memory (the core driver):
//   delete an object; a hard link making a cycle; a soft or external link in place of an object;
//   an attribute of any name Keras uses with strings (variable or fixed length, scalar, 1-D or
//   2-D, from Keras's names or the input's bytes), numbers or nothing; a dataset replaced by one
//   of another type (float16/32/64, big-endian, integer, opaque, strings), rank, shape (up to 2^40
//   elements, stored or not), layout (contiguous, chunked, compact) or filter (deflate); an object
//   moved.
// The edited file is then read like fuzz_keras_hdf5 does (keras::ModelFile::from_memory with the
// model's config, and one layer's, for the weights-only files): every rejection must be a
// FileError naming the file in one clear line, and what loads must be consistent.
#include <hdf5.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.h"

namespace {

using namespace sepconv;

// The input read as a sequence of small numbers and strings; zeros once it is used up.
class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
  [[nodiscard]] bool empty() const { return i_ >= n_; }
  unsigned byte() { return i_ < n_ ? p_[i_++] : 0u; }
  std::uint64_t number() {  // mostly small, sometimes huge
    const unsigned b = byte();
    if (b < 0xf0) return b % 10;
    return std::uint64_t{1} << (byte() % 41);
  }
  std::string text() {  // up to 32 bytes of the input
    const std::size_t len = byte() % 33;
    std::string s;
    for (std::size_t k = 0; k < len && !empty(); ++k) s += static_cast<char>(byte());
    return s;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
  std::size_t i_ = 0;
};

const char* const kNames[] = {
    "layers", "vars", "model_weights", "layer_names", "weight_names", "model_config", "name",
    "dtype", "layer_names0", "weight_names0", "weight_names1", "sep", "sep_s", "stage",
    "separable_conv1d", "sequential", "0", "1", "2", "3", "bfloat16", "float32",
    "sep/depthwise_kernel:0", "sep/pointwise_kernel:0", "sep/bias:0", "depthwise_kernel:0", ""};
constexpr unsigned kNameCount = sizeof kNames / sizeof kNames[0];

struct Base {
  const char* file;
  std::vector<unsigned char> bytes;
  std::vector<std::string> objects;  // every object's path, "/" first
};

herr_t collect(hid_t, const char* name, const H5O_info_t*, void* out) {
  auto& objects = *static_cast<std::vector<std::string>*>(out);
  objects.push_back(std::string(name) == "." ? "/" : "/" + std::string(name));
  return 0;
}

hid_t open_image(const std::vector<unsigned char>& bytes, unsigned flags) {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, 64 * 1024, 0);
  H5Pset_file_image(fapl, const_cast<unsigned char*>(bytes.data()), bytes.size());
  const hid_t file = H5Fopen("sepconv-fuzz-edit.h5", flags, fapl);
  H5Pclose(fapl);
  return file;
}

std::vector<Base>& bases() {
  static std::vector<Base> b = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    std::vector<Base> out;
    for (const char* f : {"k3_model.weights.h5", "tk_model.h5", "tk_model_weights.h5"}) {
      Base base{f, fuzz::model_data(f), {}};
      const hid_t file = open_image(base.bytes, H5F_ACC_RDONLY);
      fuzz::require(file >= 0, std::string("cannot open ") + f);
      H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, collect, &base.objects, H5O_INFO_BASIC);
      H5Fclose(file);
      out.push_back(std::move(base));
    }
    return out;
  }();
  return b;
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string child(const std::string& group, const std::string& name) {
  return (group == "/" ? "" : group) + "/" + name;
}

// Writes a string attribute `name` on `object`: variable-length, or fixed-length padded with
// `pad` (H5T_STR_NULLTERM, NULLPAD or SPACEPAD: with the last two, as tf.keras writes names,
// the longest strings have no terminator).
void string_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values,
                      bool variable, int rank, unsigned pad = 0) {
  H5Adelete(object, name.c_str());
  const hid_t type = H5Tcopy(H5T_C_S1);
  const bool terminated = pad % 3 == 0;
  std::size_t longest = 1;
  for (const auto& v : values) longest = std::max(longest, v.size() + (terminated ? 1 : 0));
  H5Tset_size(type, variable ? H5T_VARIABLE : longest);
  if (!variable) {
    H5Tset_strpad(type, pad % 3 == 0 ? H5T_STR_NULLTERM : pad % 3 == 1 ? H5T_STR_NULLPAD : H5T_STR_SPACEPAD);
  }
  const hsize_t n = values.size();
  const hsize_t dims2[2] = {1, n};
  const hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, rank == 1 ? &n : dims2, nullptr);
  const hid_t attr = H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr >= 0) {
    const std::size_t count = rank == 0 ? std::min<std::size_t>(1, values.size()) : values.size();
    if (count == values.size() || rank == 0) {
      if (variable) {
        std::vector<const char*> ptrs;
        for (const auto& v : values) ptrs.push_back(v.c_str());
        if (!ptrs.empty()) H5Awrite(attr, type, ptrs.data());
      } else {
        std::vector<char> buf(values.size() * longest, pad % 3 == 2 ? ' ' : '\0');
        for (std::size_t i = 0; i < values.size(); ++i) {
          values[i].copy(&buf[i * longest], terminated ? longest - 1 : longest);
        }
        if (!buf.empty()) H5Awrite(attr, type, buf.data());
      }
    }
    H5Aclose(attr);
  }
  H5Sclose(space);
  H5Tclose(type);
}

void edit_attribute(hid_t file, const std::string& path, Bytes& in) {
  const hid_t object = H5Oopen(file, path.c_str(), H5P_DEFAULT);
  if (object < 0) return;
  const std::string name = kNames[in.byte() % kNameCount];
  const unsigned kind = in.byte() % 6;
  if (kind < 4) {  // strings
    std::vector<std::string> values;
    const std::size_t n = in.byte() % 5;
    for (std::size_t i = 0; i < n; ++i) {
      values.push_back(in.byte() % 2 ? kNames[in.byte() % kNameCount] : in.text());
    }
    if (n == 0 && kind == 0) values.push_back(std::string(fuzz::model_text(in.byte() % 2 ? "tk_model.json" : "k3_model.json")));
    const int rank = static_cast<int>(in.byte() % 3);
    string_attribute(object, name, values, kind % 2 == 0, rank, in.byte());
  } else {  // numbers (h5py's empty list is an empty float64 array), or a null data space
    H5Adelete(object, name.c_str());
    const hsize_t n = in.byte() % 4;
    const hid_t space = kind == 4 ? H5Screate_simple(1, &n, nullptr) : H5Screate(H5S_NULL);
    const hid_t attr = H5Acreate2(object, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0) {
      const double values[4] = {1, 2, 3, 4};
      if (kind == 4 && n > 0) H5Awrite(attr, H5T_NATIVE_DOUBLE, values);
      H5Aclose(attr);
    }
    H5Sclose(space);
  }
  H5Oclose(object);
}

// A datatype of the input's choice (to close with H5Tclose).
hid_t datatype(unsigned choice) {
  switch (choice % 8) {
    case 0: return H5Tcopy(H5T_IEEE_F32LE);
    case 1: {  // IEEE float16, as h5py writes it
      const hid_t t = H5Tcopy(H5T_IEEE_F32LE);
      H5Tset_fields(t, 15, 10, 5, 0, 10);
      H5Tset_size(t, 2);
      H5Tset_ebias(t, 15);
      return t;
    }
    case 2: return H5Tcreate(H5T_OPAQUE, 2);  // Keras 3's bfloat16 (with dtype="bfloat16")
    case 3: return H5Tcopy(H5T_IEEE_F64LE);
    case 4: return H5Tcopy(H5T_IEEE_F32BE);
    case 5: return H5Tcopy(H5T_STD_I32LE);
    case 6: return H5Tcreate(H5T_OPAQUE, 4);
    default: {
      const hid_t t = H5Tcopy(H5T_C_S1);
      H5Tset_size(t, 4);
      return t;
    }
  }
}

// Replaces the object at `path` by a dataset of the input's type, shape, layout and filter.
void replace_dataset(hid_t file, const std::string& path, Bytes& in) {
  const hid_t type = datatype(in.byte());
  const int rank = static_cast<int>(in.byte() % 5);
  hsize_t dims[4] = {1, 1, 1, 1};
  std::uint64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    dims[i] = in.number();
    count = dims[i] == 0 || count > (std::uint64_t{1} << 40) / dims[i] ? 0 : count * dims[i];
  }
  const hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  const unsigned layout = in.byte() % 4;
  const std::size_t bytes = count * H5Tget_size(type);
  const bool small = bytes <= 4096;
  if (rank > 0 && (layout == 1 || layout == 2 || !small)) {  // chunked: unwritten unless small
    hsize_t chunk[4] = {1, 1, 1, 1};
    for (int i = 0; i < rank; ++i) chunk[i] = dims[i] == 0 ? 1 : std::min<hsize_t>(dims[i], 4);
    H5Pset_chunk(dcpl, rank, chunk);
    if (layout == 2) H5Pset_deflate(dcpl, 1);
  } else if (layout == 3 && small) {
    H5Pset_layout(dcpl, H5D_COMPACT);
  }
  H5Ldelete(file, path.c_str(), H5P_DEFAULT);
  const hid_t d = H5Dcreate2(file, path.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (d >= 0) {
    if (small && bytes > 0 && in.byte() % 4 != 0) {
      std::vector<unsigned char> data(bytes);
      for (auto& b : data) b = static_cast<unsigned char>(in.byte());
      H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
    }
    if (H5Tget_class(type) == H5T_OPAQUE) string_attribute(d, "dtype", {"bfloat16"}, in.byte() % 2 == 0, 0);
    H5Dclose(d);
  }
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Tclose(type);
}

// Applies the input's edits to the base file; the edited file's bytes, or none when HDF5 cannot
// write it.
std::optional<std::vector<unsigned char>> edited(const Base& base, Bytes& in) {
  const hid_t file = open_image(base.bytes, H5F_ACC_RDWR);
  if (file < 0) return std::nullopt;
  const auto pick = [&] { return base.objects[in.byte() % base.objects.size()]; };
  for (int edits = 0; edits < 16 && !in.empty(); ++edits) {
    const std::string path = pick();
    switch (in.byte() % 7) {
      case 0: H5Ldelete(file, path.c_str(), H5P_DEFAULT); break;
      case 1:  // a hard link to `path` inside another group: a cycle when that group is below it
        H5Lcreate_hard(file, path.c_str(), file, child(pick(), kNames[in.byte() % kNameCount]).c_str(),
                       H5P_DEFAULT, H5P_DEFAULT);
        break;
      case 2:
        H5Ldelete(file, path.c_str(), H5P_DEFAULT);
        H5Lcreate_soft(pick().c_str(), file, path.c_str(), H5P_DEFAULT, H5P_DEFAULT);
        break;
      case 3:
        H5Ldelete(file, path.c_str(), H5P_DEFAULT);
        H5Lcreate_external("other.h5", "/layers", file, path.c_str(), H5P_DEFAULT, H5P_DEFAULT);
        break;
      case 4: edit_attribute(file, path, in); break;
      case 5: replace_dataset(file, path, in); break;
      default:
        H5Lmove(file, path.c_str(), file, child(parent_of(pick()), kNames[in.byte() % kNameCount]).c_str(),
                H5P_DEFAULT, H5P_DEFAULT);
        break;
    }
  }
  H5Fflush(file, H5F_SCOPE_GLOBAL);
  const ssize_t size = H5Fget_file_image(file, nullptr, 0);
  std::optional<std::vector<unsigned char>> out;
  if (size > 0) {
    out.emplace(static_cast<std::size_t>(size));
    if (H5Fget_file_image(file, out->data(), out->size()) != size) out.reset();
  }
  H5Fclose(file);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  const Base& base = bases()[in.byte() % bases().size()];
  const auto image = edited(base, in);
  if (!image) return 0;
  const std::string name = "fuzz.h5";
  const std::string file = base.file;
  if (file == "k3_model.weights.h5") {
    fuzz::run_model(image->data(), image->size(), name, fuzz::model_text("k3_model.json"));
    fuzz::run_model(image->data(), image->size(), name, fuzz::model_text("k3_model.layer.sep.json"));
  } else if (file == "tk_model_weights.h5") {
    fuzz::run_model(image->data(), image->size(), name, fuzz::model_text("tk_model.json"));
    fuzz::run_model(image->data(), image->size(), name, fuzz::model_text("tk_model.layer.sep_s.json"));
  } else {
    fuzz::run_model(image->data(), image->size(), name, {});
  }
  return 0;
}
