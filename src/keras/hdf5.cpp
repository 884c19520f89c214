#include "keras/hdf5.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>
#include <utility>

#include "keras/text.h"

namespace sepconv::keras::hdf5 {
namespace {

using detail::printable;
using detail::str;

// Strings longer than this (one attribute, all its strings) are refused: weight and layer name
// lists and model configs are kilobytes to a few megabytes.
constexpr std::uint64_t kMaxAttributeBytes = 64u * 1024 * 1024;
// Datasets of rank above this are not weights (Keras weights are rank 1 to 3).
constexpr int kMaxRank = 8;

std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex m;
  return m;
}

// Held for every HDF5 call: the lock (the serial HDF5 library is not thread-safe) and HDF5's
// automatic error printing switched off, restored when the outermost session ends.
class Session {
 public:
  Session() : lock_(hdf5_mutex()) {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~Session() {
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, func_, data_);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

 private:
  std::unique_lock<std::recursive_mutex> lock_;
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// HDF5's message for the failure just reported: the innermost error's description.
std::string hdf5_message() {
  std::string message;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* out) -> herr_t {
        if (n == 0 && e != nullptr && e->desc != nullptr) {
          *static_cast<std::string*>(out) = e->desc;
        }
        return 0;
      },
      &message);
  H5Eclear2(H5E_DEFAULT);
  return message.empty() ? std::string("no message from HDF5") : printable(message, 200);
}

[[noreturn]] void fail_hdf5(const std::string& what) {
  throw Error(str(what, " (HDF5: ", hdf5_message(), ")"));
}

// An HDF5 identifier closed with its type's close function.
class Id {
 public:
  Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Id(Id&& o) noexcept : id_(std::exchange(o.id_, -1)), close_(o.close_) {}
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id& operator=(Id&&) = delete;
  ~Id() {
    if (id_ >= 0) close_(id_);
  }
  [[nodiscard]] hid_t get() const { return id_; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

Id checked(hid_t id, herr_t (*close)(hid_t), const std::string& what) {
  if (id < 0) fail_hdf5(what);
  return Id(id, close);
}

// "a/b/c" split into its non-empty components.
std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string shown_path(const std::string& path) { return "'/" + printable(path) + "'"; }

// The path with its components joined by single slashes ("" for the root).
std::string normal(const std::string& path) {
  std::string out;
  for (const auto& c : components(path)) out += (out.empty() ? "" : "/") + c;
  return out.empty() ? "." : out;
}

// Follows `path` from the root through hard links only: false when a link is missing.
bool hard_path_exists(hid_t file, const std::string& path) {
  std::string prefix;
  for (const auto& c : components(path)) {
    if (c == "." || c == "..") throw Error(str("the path ", shown_path(path), " has a '", c, "' component"));
    prefix += (prefix.empty() ? "" : "/") + c;
    const htri_t exists = H5Lexists(file, prefix.c_str(), H5P_DEFAULT);
    if (exists < 0) fail_hdf5(str("cannot look up ", shown_path(prefix)));
    if (exists == 0) return false;
    H5L_info_t info;
    if (H5Lget_info(file, prefix.c_str(), &info, H5P_DEFAULT) < 0) {
      fail_hdf5(str("cannot look up ", shown_path(prefix)));
    }
    if (info.type != H5L_TYPE_HARD) {
      throw Error(str(shown_path(prefix), " is a ",
                      info.type == H5L_TYPE_SOFT ? "soft" : "external", " link; Keras files have "
                      "none, and sepconv follows none (a link may point into another file)"));
    }
  }
  return true;
}

Id open_object(hid_t file, const std::string& path) {
  return checked(H5Oopen(file, normal(path).c_str(), H5P_DEFAULT), H5Oclose,
                 str("cannot open ", shown_path(path)));
}

std::string class_name(hid_t type) {
  const std::size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: return str("int", 8 * size);
    case H5T_FLOAT: return str("float", 8 * size);
    case H5T_STRING: return "string";
    case H5T_OPAQUE: return str("a ", size, "-byte opaque type");
    case H5T_COMPOUND: return "a compound type";
    case H5T_ENUM: return "an enum";
    case H5T_ARRAY: return "an array type";
    case H5T_VLEN: return "a variable-length type";
    case H5T_REFERENCE: return "a reference type";
    default: return "an unknown type";
  }
}

// The exact little-endian IEEE binary16 layout.
bool is_ieee_f16le(hid_t type) {
  if (H5Tget_class(type) != H5T_FLOAT || H5Tget_size(type) != 2) return false;
  if (H5Tget_order(type) != H5T_ORDER_LE || H5Tget_precision(type) != 16 ||
      H5Tget_offset(type) != 0 || H5Tget_ebias(type) != 15 || H5Tget_norm(type) != H5T_NORM_IMPLIED) {
    return false;
  }
  std::size_t spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0;
  if (H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) < 0) return false;
  return spos == 15 && epos == 10 && esize == 5 && mpos == 0 && msize == 10;
}

// Keras 3 stores bfloat16 variables as 2-byte opaque data with the attribute dtype="bfloat16".
bool is_keras_bfloat16(hid_t dataset, hid_t type) {
  if (H5Tget_class(type) != H5T_OPAQUE || H5Tget_size(type) != 2) return false;
  const htri_t has = H5Aexists(dataset, "dtype");
  if (has <= 0) return false;
  // Read it as the strings attribute it is; anything else is not Keras's marker.
  const Id attr = checked(H5Aopen(dataset, "dtype", H5P_DEFAULT), H5Aclose, "cannot open attribute dtype");
  const Id atype = checked(H5Aget_type(attr.get()), H5Tclose, "cannot read the type of attribute dtype");
  const Id space = checked(H5Aget_space(attr.get()), H5Sclose, "cannot read attribute dtype");
  if (H5Tget_class(atype.get()) != H5T_STRING || H5Sget_simple_extent_npoints(space.get()) != 1) {
    return false;
  }
  std::string value;
  if (H5Tis_variable_str(atype.get()) > 0) {
    const Id mem = checked(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy");
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(atype.get()));
    char* s = nullptr;
    const herr_t status = H5Aread(attr.get(), mem.get(), &s);
    if (status >= 0 && s != nullptr) value = s;
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, &s);
    if (status < 0) fail_hdf5("cannot read attribute dtype");
  } else {
    const std::size_t size = H5Tget_size(atype.get());
    if (size == 0 || size > 64) return false;
    std::vector<char> buf(size + 1, '\0');
    if (H5Aread(attr.get(), atype.get(), buf.data()) < 0) fail_hdf5("cannot read attribute dtype");
    value = buf.data();
  }
  return value == "bfloat16";
}

}  // namespace

std::int64_t DatasetInfo::numel() const {
  std::int64_t n = 1;
  for (const auto d : shape) n *= d;  // bounded when the shape was read (dataset())
  return n;
}

File File::open(const std::string& path) {
  const Session session;
  // H5Fopen on a non-HDF5 file searches for a signature at 512-byte offsets through the whole
  // file; Keras files have it at 0, which the caller checked. HDF5 1.10 locks the file (flock)
  // when opening it; read-only opens share the lock.
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) fail_hdf5("cannot open it as HDF5");
  hsize_t size = 0;
  if (H5Fget_filesize(id, &size) < 0) {
    H5Fclose(id);
    fail_hdf5("cannot read its size");
  }
  return File(id, size);
}

File File::open_image(const unsigned char* image, std::size_t size) {
  const Session session;
  if (size < sizeof kSignature || std::memcmp(image, kSignature, sizeof kSignature) != 0) {
    throw Error("no HDF5 signature at its start");
  }
  const Id fapl = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate");
  // The core (memory) driver without a backing store; the image is copied into it.
  if (H5Pset_fapl_core(fapl.get(), 64 * 1024, 0) < 0) fail_hdf5("H5Pset_fapl_core");
  if (H5Pset_file_image(fapl.get(), const_cast<unsigned char*>(image), size) < 0) {
    fail_hdf5("H5Pset_file_image");
  }
  const hid_t id = H5Fopen("sepconv-in-memory.h5", H5F_ACC_RDONLY, fapl.get());
  if (id < 0) fail_hdf5("cannot open it as HDF5");
  return File(id, size);
}

File::File(File&& other) noexcept
    : id_(std::exchange(other.id_, -1)), size_(other.size_) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    File old(std::move(*this));
    id_ = std::exchange(other.id_, -1);
    size_ = other.size_;
  }
  return *this;
}

File::~File() {
  if (id_ < 0) return;
  const Session session;
  H5Fclose(id_);
}

Kind File::kind(const std::string& path) const {
  const Session session;
  if (!hard_path_exists(id_, path)) return Kind::none;
  const Id object = open_object(id_, path);
  switch (H5Iget_type(object.get())) {
    case H5I_GROUP: return Kind::group;
    case H5I_DATASET: return Kind::dataset;
    default: return Kind::other;
  }
}

std::vector<std::string> File::members(const std::string& group) const {
  const Session session;
  if (kind(group) != Kind::group) throw Error(str(shown_path(group), " is not a group"));
  const Id g = checked(H5Gopen2(id_, normal(group).c_str(), H5P_DEFAULT), H5Gclose,
                       str("cannot open group ", shown_path(group)));
  std::vector<std::string> names;
  hsize_t index = 0;
  const herr_t status = H5Literate(
      g.get(), H5_INDEX_NAME, H5_ITER_INC, &index,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->emplace_back(name);
        return 0;
      },
      &names);
  if (status < 0) fail_hdf5(str("cannot list group ", shown_path(group)));
  return names;
}

bool File::has_attribute(const std::string& path, const std::string& name) const {
  const Session session;
  if (!hard_path_exists(id_, path)) return false;
  const Id object = open_object(id_, path);
  const htri_t has = H5Aexists(object.get(), name.c_str());
  if (has < 0) fail_hdf5(str("cannot look up attribute '", name, "' of ", shown_path(path)));
  return has > 0;
}

std::vector<std::string> File::strings(const std::string& path, const std::string& name) const {
  const Session session;
  const std::string where = str("attribute '", name, "' of ", shown_path(path));
  if (!hard_path_exists(id_, path)) throw Error(str(shown_path(path), " does not exist"));
  const Id object = open_object(id_, path);
  const Id attr = checked(H5Aopen(object.get(), name.c_str(), H5P_DEFAULT), H5Aclose,
                          str("cannot open ", where));
  const Id type = checked(H5Aget_type(attr.get()), H5Tclose, str("cannot read the type of ", where));
  const Id space = checked(H5Aget_space(attr.get()), H5Sclose, str("cannot read the shape of ", where));
  const H5S_class_t shape_class = H5Sget_simple_extent_type(space.get());
  if (shape_class == H5S_NULL) return {};
  if (shape_class != H5S_SCALAR && (shape_class != H5S_SIMPLE || H5Sget_simple_extent_ndims(space.get()) != 1)) {
    throw Error(str(where, " is not a list of strings (rank ", H5Sget_simple_extent_ndims(space.get()), ")"));
  }
  const hssize_t points = H5Sget_simple_extent_npoints(space.get());
  if (points < 0) fail_hdf5(str("cannot read the shape of ", where));
  const auto n = static_cast<std::uint64_t>(points);
  if (n == 0) return {};  // h5py writes an empty list as an empty float64 array
  if (H5Tget_class(type.get()) != H5T_STRING) {
    throw Error(str(where, " holds ", class_name(type.get()), ", not strings"));
  }
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.get()) > 0) {
    if (n > kMaxAttributeBytes / sizeof(char*)) throw Error(str(where, " has ", n, " strings"));
    const Id mem = checked(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy");
    if (H5Tset_size(mem.get(), H5T_VARIABLE) < 0 || H5Tset_cset(mem.get(), H5Tget_cset(type.get())) < 0) {
      fail_hdf5("cannot make a string type");
    }
    std::vector<char*> ptrs(n, nullptr);
    if (H5Aread(attr.get(), mem.get(), ptrs.data()) < 0) {
      const std::string message = hdf5_message();
      H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
      throw Error(str("cannot read ", where, " (HDF5: ", message, ")"));
    }
    std::uint64_t total = 0;
    for (char* p : ptrs) {
      const std::size_t len = p != nullptr ? std::strlen(p) : 0;
      total += len;
      if (total <= kMaxAttributeBytes) out.emplace_back(p != nullptr ? p : "", len);
    }
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
    if (total > kMaxAttributeBytes) throw Error(str(where, " holds more than ", kMaxAttributeBytes, " bytes"));
    return out;
  }
  const std::size_t size = H5Tget_size(type.get());
  if (size == 0 || n > kMaxAttributeBytes / size) {
    throw Error(str(where, " holds ", n, " strings of ", size, " bytes"));
  }
  const Id mem = checked(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy");
  if (H5Tset_size(mem.get(), size) < 0 || H5Tset_cset(mem.get(), H5Tget_cset(type.get())) < 0 ||
      H5Tset_strpad(mem.get(), H5T_STR_NULLPAD) < 0) {
    fail_hdf5("cannot make a string type");
  }
  std::vector<char> buf(n * size, '\0');
  if (H5Aread(attr.get(), mem.get(), buf.data()) < 0) fail_hdf5(str("cannot read ", where));
  for (std::uint64_t i = 0; i < n; ++i) {
    const char* s = buf.data() + i * size;
    std::size_t len = 0;
    while (len < size && s[len] != '\0') ++len;
    while (len > 0 && s[len - 1] == ' ' && H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD) --len;
    out.emplace_back(s, len);
  }
  return out;
}

DatasetInfo File::dataset(const std::string& path) const {
  const Session session;
  if (kind(path) != Kind::dataset) throw Error(str(shown_path(path), " is not a dataset"));
  const Id d = checked(H5Dopen2(id_, normal(path).c_str(), H5P_DEFAULT), H5Dclose,
                       str("cannot open dataset ", shown_path(path)));
  const Id type = checked(H5Dget_type(d.get()), H5Tclose, str("cannot read the type of ", shown_path(path)));
  const Id space = checked(H5Dget_space(d.get()), H5Sclose, str("cannot read the shape of ", shown_path(path)));
  DatasetInfo info;
  const H5S_class_t shape_class = H5Sget_simple_extent_type(space.get());
  if (shape_class != H5S_SCALAR && shape_class != H5S_SIMPLE) {
    throw Error(str(shown_path(path), " has no data space (an empty dataset)"));
  }
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail_hdf5(str("cannot read the shape of ", shown_path(path)));
  if (rank > kMaxRank) throw Error(str(shown_path(path), " has rank ", rank));
  hsize_t dims[kMaxRank] = {};
  if (rank > 0 && H5Sget_simple_extent_dims(space.get(), dims, nullptr) < 0) {
    fail_hdf5(str("cannot read the shape of ", shown_path(path)));
  }
  // Each extent and the element count fit in int64 (2^62 bounds the byte count of 4-byte
  // elements too); larger shapes are not weights.
  std::uint64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    constexpr std::uint64_t kLimit = std::uint64_t{1} << 60;
    if (dims[i] > kLimit || (dims[i] != 0 && count > kLimit / dims[i])) {
      throw Error(str(shown_path(path), " has a shape of more than 2^60 elements"));
    }
    count *= dims[i];
    info.shape.push_back(static_cast<std::int64_t>(dims[i]));
  }
  const hid_t t = type.get();
  info.type_name = class_name(t);
  if (H5Tget_class(t) == H5T_FLOAT && H5Tequal(t, H5T_IEEE_F32LE) > 0) {
    info.readable = true;
    info.dtype = DType::f32;
    info.type_name = "float32";
  } else if (is_ieee_f16le(t)) {
    info.readable = true;
    info.dtype = DType::f16;
    info.type_name = "float16";
  } else if (is_keras_bfloat16(d.get(), t)) {
    info.readable = true;
    info.dtype = DType::bf16;
    info.type_name = "bfloat16";
  } else if (H5Tget_class(t) == H5T_FLOAT && H5Tget_order(t) == H5T_ORDER_BE) {
    info.type_name += " (big-endian)";
  }
  return info;
}

std::vector<unsigned char> File::read(const std::string& path, const DatasetInfo& info) const {
  const Session session;
  const Id d = checked(H5Dopen2(id_, normal(path).c_str(), H5P_DEFAULT), H5Dclose,
                       str("cannot open dataset ", shown_path(path)));
  const Id dcpl = checked(H5Dget_create_plist(d.get()), H5Pclose,
                          str("cannot read the storage of ", shown_path(path)));
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  if (layout == H5D_VIRTUAL) throw Error(str(shown_path(path), " is a virtual dataset"));
  if (H5Pget_external_count(dcpl.get()) != 0) {
    throw Error(str(shown_path(path), " stores its data in external files"));
  }
  if (H5Pget_nfilters(dcpl.get()) != 0) {
    throw Error(str(shown_path(path), " is stored compressed or filtered; Keras writes plain data"));
  }
  const std::uint64_t bytes =
      static_cast<std::uint64_t>(info.numel()) * dtype_size(info.dtype);
  const std::uint64_t stored = H5Dget_storage_size(d.get());
  if (bytes > stored || bytes > size_) {
    throw Error(str(shown_path(path), " declares ", bytes, " bytes of data but stores ", stored,
                    " in a file of ", size_, " bytes"));
  }
  std::vector<unsigned char> out(static_cast<std::size_t>(bytes));
  if (bytes == 0) return out;
  // The memory type is the file's own layout: raw bytes, no conversion.
  const Id type = checked(H5Dget_type(d.get()), H5Tclose, str("cannot read the type of ", shown_path(path)));
  if (H5Dread(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
    fail_hdf5(str("cannot read ", shown_path(path)));
  }
  return out;
}

}  // namespace sepconv::keras::hdf5
