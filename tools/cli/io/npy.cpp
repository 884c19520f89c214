// .npy reading and writing. Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//   magic "\x93NUMPY", major, minor, header length (uint16 LE for 1.0, uint32 LE for 2.0 / 3.0),
//   then an ASCII (3.0: UTF-8) Python dict literal {'descr': ..., 'fortran_order': ...,
//   'shape': (...), } padded with spaces and ended by '\n', then the raw data.
#include "io/npy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "text.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sepconv_io reads and writes little-endian data in place: a little-endian host is required"
#endif

namespace sepconv::io {

FileError::FileError(std::string path, const std::string& problem)
    : Error(path + ": " + problem), path_(std::move(path)) {}

namespace {

using cli::str;

constexpr unsigned char kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr std::size_t kMagicSize = sizeof kMagic;
constexpr std::size_t kArrayAlign = 64;          // numpy's ARRAY_ALIGN
constexpr std::size_t kGrowthAxisMaxDigits = 21;  // numpy's GROWTH_AXIS_MAX_DIGITS

// What the header says, checked against the file size.
struct Header {
  DType dtype = DType::f32;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  std::size_t data_offset = 0;
  std::size_t data_bytes = 0;
};

std::string errno_text() { return std::strerror(errno); }

// A string from a file as messages show it: printable ASCII, other bytes as \xNN, at most 40
// characters (then "...").
std::string shown(std::string_view s) {
  constexpr std::size_t kMax = 40;
  const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += str("\\x", digits[c >> 4], digits[c & 0xf]);
    }
  }
  return s.size() > kMax ? out + "..." : out;
}

// A strict parser of the header's Python dict literal: exactly the keys 'descr', 'fortran_order'
// and 'shape' (numpy requires the same), string / True / False / tuple-of-ints values.
class DictParser {
 public:
  DictParser(std::string_view text, const std::string& path) : s_(text), path_(path) {}

  Header parse() {
    Header h;
    std::optional<std::string> descr;
    std::optional<bool> fortran;
    std::optional<std::vector<std::int64_t>> shape;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        if (descr) fail("the key 'descr' appears twice");
        skip_space();
        if (peek() == '[' || peek() == '(') fail("a structured dtype (a list of fields) in 'descr'; expected '<f4' or '<f2' (float32/float16 little-endian)");
        descr = string_literal();
      } else if (key == "fortran_order") {
        if (fortran) fail("the key 'fortran_order' appears twice");
        fortran = boolean();
      } else if (key == "shape") {
        if (shape) fail("the key 'shape' appears twice");
        shape = tuple();
      } else {
        fail(str("an unexpected key '", shown(key), "' (a .npy header has exactly 'descr', 'fortran_order' and 'shape')"));
      }
      skip_space();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      skip_space();
      if (peek() != '}') fail(str("'", printable(peek()), "' at header offset ", i_, " where ',' or '}' belongs"));
    }
    expect('}');
    skip_space();
    if (i_ != s_.size()) fail(str("text after the closing '}' at header offset ", i_));
    if (!descr) fail("no 'descr' key");
    if (!fortran) fail("no 'fortran_order' key");
    if (!shape) fail("no 'shape' key");
    h.dtype = dtype_of(*descr);
    h.fortran_order = *fortran;
    h.shape = std::move(*shape);
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FileError(path_, "malformed .npy header: " + what);
  }
  static std::string printable(int c) {
    if (c < 0) return "end of header";
    if (c >= 0x20 && c < 0x7f) return std::string(1, static_cast<char>(c));
    const char* digits = "0123456789abcdef";
    return str("\\x", digits[(c >> 4) & 0xf], digits[c & 0xf]);
  }
  int peek() const { return i_ < s_.size() ? static_cast<unsigned char>(s_[i_]) : -1; }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != static_cast<unsigned char>(c)) {
      fail(str("'", printable(peek()), "' at header offset ", i_, " where '", c, "' belongs"));
    }
    ++i_;
  }
  std::string string_literal() {
    skip_space();
    const int quote = peek();
    if (quote != '\'' && quote != '"') {
      fail(str("'", printable(quote), "' at header offset ", i_, " where a quoted string belongs"));
    }
    const std::size_t start = ++i_;
    while (i_ < s_.size() && s_[i_] != quote) {
      if (s_[i_] == '\\') fail("an escape sequence in a string (not written by numpy)");
      ++i_;
    }
    if (i_ == s_.size()) fail("an unterminated string");
    return std::string(s_.substr(start, i_++ - start));
  }
  bool boolean() {
    skip_space();
    if (s_.substr(i_, 4) == "True") {
      i_ += 4;
      return true;
    }
    if (s_.substr(i_, 5) == "False") {
      i_ += 5;
      return false;
    }
    fail(str("'fortran_order' is not True or False (at header offset ", i_, ")"));
  }
  std::vector<std::int64_t> tuple() {
    expect('(');
    std::vector<std::int64_t> dims;
    bool trailing_comma = false;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') {
        fail(str("'", printable(peek()), "' at header offset ", i_,
                 " in 'shape' where a non-negative integer belongs"));
      }
      std::int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, peek() - '0', &v)) {
          fail("a 'shape' entry larger than a 64-bit integer");
        }
        ++i_;
      }
      if (dims.size() == static_cast<std::size_t>(kMaxRank)) {
        // Count the rest only to report the rank; never store an unbounded number of entries.
        throw_rank();
      }
      dims.push_back(v);
      skip_space();
      trailing_comma = peek() == ',';
      if (trailing_comma) {
        ++i_;
      } else if (peek() != ')') {
        fail(str("'", printable(peek()), "' at header offset ", i_, " in 'shape' where ',' or ')' belongs"));
      }
    }
    if (dims.size() == 1 && !trailing_comma) fail("'shape' (n) is not a tuple; numpy writes (n,)");
    expect(')');
    return dims;
  }
  [[noreturn]] void throw_rank() const {
    std::size_t commas = 0;
    for (std::size_t j = i_; j < s_.size() && s_[j] != ')'; ++j) commas += s_[j] == ',';
    throw FileError(path_, str("an array of rank ", kMaxRank + 1, commas > 1 ? " or more" : "",
                               ": expected rank 0 to ", kMaxRank,
                               " (inputs (batch, steps, channels), weights, bias)"));
  }
  DType dtype_of(const std::string& descr) const {
    if (descr == "<f4") return DType::f32;
    if (descr == "<f2") return DType::f16;
    if (!descr.empty() && descr[0] == '>') {
      throw FileError(path_, str("dtype '", shown(descr), "' is big-endian: expected '<f4' or '<f2' "
                                 "(float32/float16 little-endian); convert with x.astype('<f4')"));
    }
    throw FileError(path_, str("dtype '", shown(descr), "': expected '<f4' or '<f2' (float32/float16 "
                               "little-endian); convert with x.astype('float32')"));
  }

  std::string_view s_;
  const std::string& path_;
  std::size_t i_ = 0;
};

// The length of the prefix before the dict (magic, version, header length) for a version, or 0
// for an unknown version.
std::size_t prefix_size(unsigned char major) {
  return major == 1 ? kMagicSize + 4 : (major == 2 || major == 3) ? kMagicSize + 6 : 0;
}

// Checks the magic and version in the first bytes and returns the prefix size and header length.
struct Prefix {
  std::size_t size = 0;
  std::size_t header_length = 0;
};
Prefix parse_prefix(const unsigned char* p, std::size_t available, std::size_t file_size,
                    const std::string& path) {
  if (available < kMagicSize || std::memcmp(p, kMagic, kMagicSize) != 0) {
    throw FileError(path, file_size < kMagicSize
                              ? str("not a .npy file: only ", file_size, " bytes")
                              : "not a .npy file: the magic string \\x93NUMPY is missing");
  }
  if (available < kMagicSize + 2) throw FileError(path, "truncated .npy file: no format version");
  const unsigned char major = p[kMagicSize];
  const unsigned char minor = p[kMagicSize + 1];
  Prefix r;
  r.size = prefix_size(major);
  if (r.size == 0 || minor != 0) {
    throw FileError(path, str(".npy format version ", int{major}, ".", int{minor},
                              ": expected 1.0, 2.0 or 3.0"));
  }
  if (available < r.size) throw FileError(path, "truncated .npy file: no header length");
  const unsigned char* len = p + kMagicSize + 2;
  r.header_length = major == 1 ? std::size_t{len[0]} | std::size_t{len[1]} << 8
                               : std::size_t{len[0]} | std::size_t{len[1]} << 8 |
                                     std::size_t{len[2]} << 16 | std::size_t{len[3]} << 24;
  if (r.header_length > kMaxNpyHeaderBytes) {
    throw FileError(path, str(".npy header length ", r.header_length, " bytes exceeds the limit of ",
                              kMaxNpyHeaderBytes, " bytes"));
  }
  if (r.header_length > file_size - r.size) {
    throw FileError(path, str("truncated .npy file: the header says ", r.header_length,
                              " bytes but only ", file_size - r.size, " follow"));
  }
  return r;
}

// Parses the header text and checks the data size against the file size.
Header parse_header(const Prefix& prefix, std::string_view text, std::size_t file_size,
                    const std::string& path) {
  Header h = DictParser(text, path).parse();
  std::int64_t n = 1;
  for (auto d : h.shape) {
    if (__builtin_mul_overflow(n, d, &n)) {
      throw FileError(path, str("shape ", shape_tuple(h.shape), " has more elements than fit in 64 bits"));
    }
  }
  std::int64_t bytes = 0;
  if (__builtin_mul_overflow(n, static_cast<std::int64_t>(dtype_size(h.dtype)), &bytes)) {
    throw FileError(path, str("shape ", shape_tuple(h.shape), " has more bytes than fit in 64 bits"));
  }
  h.data_offset = prefix.size + prefix.header_length;
  const std::size_t available = file_size - h.data_offset;
  const auto what = [&] {
    return str("shape ", shape_tuple(h.shape), " ", to_string(h.dtype), " needs ", bytes,
               " data bytes");
  };
  if (static_cast<std::uint64_t>(bytes) > available) {
    throw FileError(path, str("truncated .npy file: ", what(), " but the file has ", available));
  }
  if (static_cast<std::uint64_t>(bytes) < available) {
    throw FileError(path, str(available - static_cast<std::uint64_t>(bytes),
                              " unexpected bytes after the data (", what(), "; np.save writes "
                              "nothing after them)"));
  }
  h.data_bytes = static_cast<std::size_t>(bytes);
  return h;
}

// Reorders Fortran-order (column-major) data to C order in place of `a`.
void fortran_to_c(HostArray& a) {
  const int rank = static_cast<int>(a.shape.size());
  if (rank < 2 || a.numel() == 0) return;  // identical layouts
  const std::size_t size = dtype_size(a.dtype);
  std::vector<unsigned char> c_order(a.bytes.size());
  std::int64_t e[3] = {1, 1, 1};
  for (int i = 0; i < rank; ++i) e[i] = a.shape[static_cast<std::size_t>(i)];
  std::size_t dst = 0;
  for (std::int64_t i0 = 0; i0 < e[0]; ++i0) {
    for (std::int64_t i1 = 0; i1 < e[1]; ++i1) {
      for (std::int64_t i2 = 0; i2 < e[2]; ++i2) {
        const std::int64_t src = i0 + e[0] * (i1 + e[1] * i2);  // column-major offset
        std::memcpy(&c_order[dst], &a.bytes[static_cast<std::size_t>(src) * size], size);
        dst += size;
      }
    }
  }
  a.bytes.swap(c_order);
}

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads exactly `size` bytes at `offset`; false on a short read (the file shrank) or an error.
bool read_at(int fd, unsigned char* out, std::size_t size, std::size_t offset) {
  while (size > 0) {
    const ssize_t got = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    out += got;
    offset += static_cast<std::size_t>(got);
    size -= static_cast<std::size_t>(got);
  }
  return true;
}

}  // namespace

HostArray parse_npy(const unsigned char* data, std::size_t size, const std::string& name) {
  const Prefix prefix = parse_prefix(data, size, size, name);
  const Header h = parse_header(
      prefix,
      std::string_view(reinterpret_cast<const char*>(data) + prefix.size, prefix.header_length),
      size, name);
  HostArray a;
  a.dtype = h.dtype;
  a.shape = h.shape;
  a.bytes.assign(data + h.data_offset, data + h.data_offset + h.data_bytes);
  if (h.fortran_order) fortran_to_c(a);
  return a;
}

HostArray read_npy(const std::string& path) {
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw FileError(path, "cannot open: " + errno_text());
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) throw FileError(path, "cannot stat: " + errno_text());
  if (!S_ISREG(st.st_mode)) throw FileError(path, "not a regular file");
  const auto file_size = static_cast<std::size_t>(st.st_size);

  unsigned char start[kMagicSize + 6] = {};
  const std::size_t head = std::min(file_size, sizeof start);
  if (!read_at(file.fd, start, head, 0)) throw FileError(path, "cannot read: " + errno_text());
  const Prefix prefix = parse_prefix(start, head, file_size, path);
  std::string text(prefix.header_length, '\0');
  if (!read_at(file.fd, reinterpret_cast<unsigned char*>(text.data()), text.size(), prefix.size)) {
    throw FileError(path, "cannot read the .npy header (did the file change while reading?)");
  }
  const Header h = parse_header(prefix, text, file_size, path);

  // Only now, with the size proven by the file itself, is the data allocated.
  HostArray a;
  a.dtype = h.dtype;
  a.shape = h.shape;
  a.bytes.resize(h.data_bytes);
  if (!read_at(file.fd, a.bytes.data(), h.data_bytes, h.data_offset)) {
    throw FileError(path, "cannot read the data (did the file change while reading?)");
  }
  if (h.fortran_order) fortran_to_c(a);
  return a;
}

std::string npy_header(DType dtype, const std::vector<std::int64_t>& shape) {
  if (dtype == DType::bf16) {
    cli::fail("dtype", "bfloat16", "float32 or float16 (numpy has no bfloat16 type)");
  }
  // numpy's _write_array_header: sorted keys, repr of the values, then spare spaces so the
  // first axis can grow in place, then padding to ARRAY_ALIGN and a newline.
  std::string dict = str("{'descr': '", dtype == DType::f32 ? "<f4" : "<f2",
                         "', 'fortran_order': False, 'shape': ", shape_tuple(shape), ", }");
  if (!shape.empty()) {
    const std::size_t digits = std::to_string(shape[0]).size();
    if (digits < kGrowthAxisMaxDigits) dict.append(kGrowthAxisMaxDigits - digits, ' ');
  }
  const std::size_t unpadded = kMagicSize + 4 + dict.size() + 1;
  dict.append((kArrayAlign - unpadded % kArrayAlign) % kArrayAlign, ' ');
  dict += '\n';
  const std::size_t length = dict.size();
  std::string header(reinterpret_cast<const char*>(kMagic), kMagicSize);
  header += '\x01';
  header += '\x00';
  header += static_cast<char>(length & 0xff);
  header += static_cast<char>(length >> 8);
  return header + dict;
}

void write_npy(const std::string& path, const HostArray& array) {
  if (array.dtype == DType::bf16) {
    throw FileError(path, "cannot write bfloat16 to .npy (numpy has no bfloat16): convert to "
                          "float32 first");
  }
  if (array.shape.size() > static_cast<std::size_t>(kMaxRank) || static_cast<std::int64_t>(array.bytes.size()) !=
                                           array.numel() * static_cast<std::int64_t>(dtype_size(array.dtype))) {
    throw FileError(path, "internal error: the array's bytes do not match its shape");
  }
  const std::string header = npy_header(array.dtype, array.shape);

  std::string temp = path + ".tmp-XXXXXX";
  Fd file{::mkstemp(temp.data())};
  if (file.fd < 0) throw FileError(path, "cannot create a temporary file beside it: " + errno_text());
  bool renamed = false;
  struct Cleanup {  // removes the temporary file on every failure path
    const std::string& name;
    const bool& done;
    ~Cleanup() {
      if (!done) ::unlink(name.c_str());
    }
  } cleanup{temp, renamed};

  // mkstemp creates the file 0600; give the result the permissions a new file normally gets.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(file.fd, 0666 & ~mask) != 0) throw FileError(path, "cannot chmod: " + errno_text());

  const auto write_all = [&](const unsigned char* p, std::size_t n) {
    while (n > 0) {
      const ssize_t put = ::write(file.fd, p, n);
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) throw FileError(path, "cannot write: " + errno_text());
      p += put;
      n -= static_cast<std::size_t>(put);
    }
  };
  write_all(reinterpret_cast<const unsigned char*>(header.data()), header.size());
  write_all(array.bytes.data(), array.bytes.size());
  const int fd = file.fd;
  file.fd = -1;
  if (::close(fd) != 0) throw FileError(path, "cannot write: " + errno_text());
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    throw FileError(path, "cannot rename the temporary file into place: " + errno_text());
  }
  renamed = true;
}

}  // namespace sepconv::io
