#include "keras/archive.h"

#include <zip.h>

#include <algorithm>
#include <utility>

#include "keras/text.h"

namespace sepconv::keras::zip {
namespace {

using detail::printable;
using detail::str;

// Reads in pieces of this size: a member's declared size is not trusted for allocation.
constexpr std::uint64_t kPiece = 1u << 20;

zip_t* handle_of(void* h) { return static_cast<zip_t*>(h); }

std::string error_text(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

std::string error_text(zip_error_t* error) { return zip_error_strerror(error); }

}  // namespace

Archive Archive::open(const std::string& path) {
  int code = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (z == nullptr) throw Error(str("not a readable zip archive (libzip: ", error_text(code), ")"));
  return Archive(z);
}

Archive Archive::open_memory(const unsigned char* bytes, std::size_t size) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes, size, 0, &error);
  if (source == nullptr) {
    const std::string text = error_text(&error);
    zip_error_fini(&error);
    throw Error(str("cannot read the archive (libzip: ", text, ")"));
  }
  zip_t* z = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (z == nullptr) {
    zip_source_free(source);  // still ours when the open failed
    const std::string text = error_text(&error);
    zip_error_fini(&error);
    throw Error(str("not a readable zip archive (libzip: ", text, ")"));
  }
  zip_error_fini(&error);
  return Archive(z);
}

Archive::Archive(Archive&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}

Archive& Archive::operator=(Archive&& other) noexcept {
  if (this != &other) {
    Archive old(std::move(*this));
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

Archive::~Archive() {
  if (handle_ != nullptr) zip_discard(handle_of(handle_));  // read-only: nothing to write back
}

std::vector<std::string> Archive::names() const {
  std::vector<std::string> out;
  const zip_int64_t n = zip_get_num_entries(handle_of(handle_), 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(handle_of(handle_), static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
    if (name != nullptr) out.emplace_back(name);
  }
  return out;
}

bool Archive::contains(const std::string& name) const {
  return zip_name_locate(handle_of(handle_), name.c_str(), ZIP_FL_ENC_RAW) >= 0;
}

std::vector<unsigned char> Archive::read(const std::string& name, std::uint64_t limit) const {
  zip_t* z = handle_of(handle_);
  const zip_int64_t index = zip_name_locate(z, name.c_str(), ZIP_FL_ENC_RAW);
  if (index < 0) throw Error(str("no member '", printable(name), "'"));
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(z, static_cast<zip_uint64_t>(index), 0, &stat) != 0) {
    throw Error(str("cannot read member '", printable(name), "' (libzip: ", zip_strerror(z), ")"));
  }
  if ((stat.valid & ZIP_STAT_SIZE) != 0 && stat.size > limit) {
    throw Error(str("member '", printable(name), "' declares ", stat.size,
                    " bytes; at most ", limit, " are read"));
  }
  zip_file_t* file = zip_fopen_index(z, static_cast<zip_uint64_t>(index), 0);
  if (file == nullptr) {
    throw Error(str("cannot open member '", printable(name), "' (libzip: ", zip_strerror(z), ")"));
  }
  std::vector<unsigned char> out;
  std::string problem;
  for (;;) {
    const std::size_t at = out.size();
    const std::uint64_t want = std::min<std::uint64_t>(kPiece, limit + 1 - at);
    out.resize(at + static_cast<std::size_t>(want));
    const zip_int64_t got = zip_fread(file, out.data() + at, want);
    if (got < 0) {
      problem = str("member '", printable(name), "' is damaged (libzip: ", zip_file_strerror(file), ")");
      break;
    }
    out.resize(at + static_cast<std::size_t>(got));
    if (out.size() > limit) {
      problem = str("member '", printable(name), "' holds more than ", limit, " bytes");
      break;
    }
    if (got == 0) break;
  }
  zip_fclose(file);
  if (!problem.empty()) throw Error(problem);
  if ((stat.valid & ZIP_STAT_SIZE) != 0 && out.size() != stat.size) {
    throw Error(str("member '", printable(name), "' holds ", out.size(), " bytes; its header says ",
                    stat.size));
  }
  return out;
}

}  // namespace sepconv::keras::zip
