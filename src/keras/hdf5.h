// Internal to sepconv_keras: the few HDF5 reads Keras files need, over the HDF5 C library.
//
// Defensive by construction, since model files come from anywhere:
//   * a file must start with HDF5's signature before HDF5 sees it;
//   * only hard links are followed (Keras's own loader refuses soft and external links, which
//     could reach other files);
//   * datasets are read only when their bytes are stored in the file: no external storage, no
//     virtual datasets, no filters (compression), and storage at least as large as the data (so a
//     corrupt shape cannot make sepconv allocate more than the file holds);
//   * data is read as raw little-endian bytes of the exact IEEE float32 / float16 layouts (or
//     Keras 3's bfloat16: 2-byte opaque data with a dtype="bfloat16" attribute), never through
//     HDF5's datatype conversions;
//   * every call runs under one process-wide lock with HDF5's error printing off (and restored).
// Problems throw `hdf5::Error` with HDF5's innermost error message; callers add the file name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "keras/text.h"
#include "sepconv/types.h"

namespace sepconv::keras::hdf5 {

/// A problem reading the file (HDF5's message, or what sepconv refuses).
class Error : public detail::Problem {
 public:
  using detail::Problem::Problem;
};

/// HDF5's file signature, at offset 0 of every file Keras writes.
inline constexpr unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/// What a dataset holds, from its header (nothing read yet).
struct DatasetInfo {
  std::vector<std::int64_t> shape;
  /// The stored element type, when it is one sepconv reads (float32, float16, bfloat16).
  bool readable = false;
  DType dtype = DType::f32;
  /// What it holds, for messages: "float32", "float64", "int32", "a 2-byte opaque type", ...
  std::string type_name;
  [[nodiscard]] std::int64_t numel() const;
};

enum class Kind { none, group, dataset, other };

/// An open HDF5 file (read-only). Paths are relative to the root, components separated by '/'.
class File {
 public:
  /// Opens a file on disk. Throws Error (not an HDF5 file, truncated, corrupt).
  [[nodiscard]] static File open(const std::string& path);
  /// Opens an in-memory image (HDF5's core driver; the bytes are copied).
  [[nodiscard]] static File open_image(const unsigned char* image, std::size_t size);

  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  /// The file's size in bytes.
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

  /// What `path` names ("" is the root group); `none` when a link along it is missing. Throws
  /// Error for a soft or external link along it.
  [[nodiscard]] Kind kind(const std::string& path) const;
  /// The names of a group's members, in name order. Throws Error when it is not a group.
  [[nodiscard]] std::vector<std::string> members(const std::string& group) const;
  /// Whether the object at `path` has an attribute `name`.
  [[nodiscard]] bool has_attribute(const std::string& path, const std::string& name) const;
  /// A string attribute (scalar or 1-D, fixed or variable length) as its strings; an empty
  /// numeric array (what h5py writes for an empty list) as none. Throws Error for other types.
  [[nodiscard]] std::vector<std::string> strings(const std::string& path,
                                                 const std::string& name) const;
  /// A dataset's shape and type. Throws Error when `path` is not a dataset.
  [[nodiscard]] DatasetInfo dataset(const std::string& path) const;
  /// The dataset's elements as little-endian bytes of `info.dtype` (info from `dataset`, readable).
  /// Throws Error for data not stored in the file itself (see above) or a failed read.
  [[nodiscard]] std::vector<unsigned char> read(const std::string& path,
                                                const DatasetInfo& info) const;

 private:
  File(std::int64_t id, std::uint64_t size) : id_(id), size_(size) {}
  std::int64_t id_ = -1;  // hid_t
  std::uint64_t size_ = 0;
};

}  // namespace sepconv::keras::hdf5
