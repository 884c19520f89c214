// The .npy reader and writer of sepconv_io: round trips, numpy's exact byte layout, and one test
// per malformed, truncated, oversized or unsupported file (each must give a FileError naming the
// file and the problem, never a crash or an allocation the file does not justify).
#include <gtest/gtest.h>

#include <cstring>

#include "cli/cli_test_support.h"
#include "golden/golden_data.h"
#include "detail/elements.h"
#include "io/npy.h"
#include "sepconv/error.h"

namespace sepconv::test {
namespace {

using io::FileError;
using io::HostArray;

// A .npy file with `dict` as its header text (newline added; no alignment padding, which the
// reader does not need) in format version `major`.0.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  std::string s = "\x93NUMPY";
  s += static_cast<char>(major);
  s += '\0';
  const std::string header = dict + "\n";
  const std::size_t n = header.size();
  s += static_cast<char>(n & 0xff);
  s += static_cast<char>((n >> 8) & 0xff);
  if (major != 1) {
    s += static_cast<char>((n >> 16) & 0xff);
    s += static_cast<char>((n >> 24) & 0xff);
  }
  return s + header + data;
}

std::string f32_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

// Reads `bytes` from a file and expects a FileError naming the file and containing every text
// of `mentions`; the in-memory parser must reject the same bytes the same way.
void expect_rejected(const std::string& bytes, const std::vector<std::string>& mentions) {
  ScratchDir dir;
  const std::string path = dir.file("bad.npy");
  write_file(path, bytes);
  try {
    (void)io::read_npy(path);
    ADD_FAILURE() << "accepted";
  } catch (const FileError& e) {
    EXPECT_EQ(e.path(), path);
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    for (const auto& m : mentions) EXPECT_NE(msg.find(m), std::string::npos) << msg;
  }
  try {
    (void)io::parse_npy(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), "mem");
    ADD_FAILURE() << "parse_npy accepted";
  } catch (const FileError& e) {
    for (const auto& m : mentions) EXPECT_NE(std::string(e.what()).find(m), std::string::npos);
  }
}

HostArray iota(DType dtype, std::vector<std::int64_t> shape) {
  HostArray a = HostArray::zeros(dtype, std::move(shape));
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    detail::store_element(a.bytes.data(), dtype, i, 0.25 * static_cast<double>(i) - 3);
  }
  return a;
}

void expect_round_trip(const HostArray& a) {
  ScratchDir dir;
  const std::string path = dir.file("a.npy");
  io::write_npy(path, a);
  const HostArray b = io::read_npy(path);
  EXPECT_EQ(b.dtype, a.dtype);
  EXPECT_EQ(b.shape, a.shape);
  EXPECT_EQ(b.bytes, a.bytes);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a.npy"}) << "a temporary file was left";
}

// ---- round trips and numpy's layout --------------------------------------------------------------

TEST(Npy, RoundTripFloat32AllRanks) {
  expect_round_trip(iota(DType::f32, {}));
  expect_round_trip(iota(DType::f32, {5}));
  expect_round_trip(iota(DType::f32, {3, 4}));
  expect_round_trip(iota(DType::f32, {2, 3, 4}));
  expect_round_trip(iota(DType::f32, {0, 3, 4}));
}

TEST(Npy, RoundTripFloat16AllRanks) {
  expect_round_trip(iota(DType::f16, {}));
  expect_round_trip(iota(DType::f16, {7}));
  expect_round_trip(iota(DType::f16, {2, 3, 5}));
  expect_round_trip(iota(DType::f16, {2, 0, 5}));
}

TEST(Npy, WritesWhatNumpyWrites) {
  // Golden files were written by np.save: reading one and writing it back gives the same bytes.
  const auto cases = golden::cases_of_kind("forward");
  ASSERT_FALSE(cases.empty());
  ScratchDir dir;
  int compared = 0;
  for (const auto& c : cases) {
    for (const char* name : {"input.npy", "depthwise.npy", "pointwise.npy", "output.npy"}) {
      const std::string original = golden::directory() + "/" + c.name + "/" + name;
      io::write_npy(dir.file("copy.npy"), io::read_npy(original));
      ASSERT_EQ(read_file(dir.file("copy.npy")), read_file(original)) << original;
      ++compared;
    }
    if (compared > 40) break;
  }
}

TEST(Npy, HeaderIsPaddedTo64Bytes) {
  for (const auto& shape : std::vector<std::vector<std::int64_t>>{{}, {1}, {123456789, 2, 3}}) {
    const std::string h = io::npy_header(DType::f32, shape);
    EXPECT_EQ(h.size() % 64, 0u);
    EXPECT_EQ(h.back(), '\n');
    EXPECT_NE(h.find("'shape': " + io::shape_tuple(shape)), std::string::npos) << h;
  }
}

TEST(Npy, ReadsFormatVersions2And3) {
  for (int major : {2, 3}) {
    ScratchDir dir;
    write_file(dir.file("v.npy"), npy_file(dict("<f4", "(2,)"), f32_bytes({1.5f, -2}), major));
    const HostArray a = io::read_npy(dir.file("v.npy"));
    EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2}));
    EXPECT_EQ(a.get(0), 1.5);
    EXPECT_EQ(a.get(1), -2.0);
  }
}

TEST(Npy, AcceptsDoubleQuotesAndNoTrailingComma) {
  ScratchDir dir;
  write_file(dir.file("q.npy"),
             npy_file("{\"shape\": (1, 2), \"descr\": \"<f4\", \"fortran_order\": False}",
                      f32_bytes({1, 2})));
  EXPECT_EQ(io::read_npy(dir.file("q.npy")).shape, (std::vector<std::int64_t>{1, 2}));
}

TEST(Npy, ConvertsFortranOrderToCOrder) {
  // x = [[0, 1, 2], [3, 4, 5]] stored column-major: 0 3 1 4 2 5.
  ScratchDir dir;
  write_file(dir.file("f.npy"), npy_file(dict("<f4", "(2, 3)", true), f32_bytes({0, 3, 1, 4, 2, 5})));
  const HostArray a = io::read_npy(dir.file("f.npy"));
  ASSERT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.get(i), i);

  // Rank 3, shape (2, 2, 2): element (i, j, k) = 4i + 2j + k at column-major offset i + 2j + 4k.
  std::vector<float> column_major(8);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k) column_major[static_cast<std::size_t>(i + 2 * j + 4 * k)] = static_cast<float>(4 * i + 2 * j + k);
  write_file(dir.file("f3.npy"), npy_file(dict("<f4", "(2, 2, 2)", true), f32_bytes(column_major)));
  const HostArray b = io::read_npy(dir.file("f3.npy"));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(b.get(i), i);
}

// ---- malformed files -----------------------------------------------------------------------------

TEST(Npy, RejectsMissingFile) {
  ScratchDir dir;
  try {
    (void)io::read_npy(dir.file("nope.npy"));
    ADD_FAILURE();
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos) << e.what();
  }
}

TEST(Npy, RejectsDirectory) {
  ScratchDir dir;
  EXPECT_THROW((void)io::read_npy(dir.path()), FileError);
}

TEST(Npy, RejectsEmptyFile) { expect_rejected("", {"not a .npy file", "0 bytes"}); }

TEST(Npy, RejectsBadMagic) {
  std::string bytes = npy_file(dict("<f4", "(1,)"), f32_bytes({1}));
  bytes[1] = 'X';
  expect_rejected(bytes, {"magic"});
  expect_rejected("PK\x03\x04 this is a zip file", {"magic"});
}

TEST(Npy, RejectsUnknownVersion) {
  expect_rejected(npy_file(dict("<f4", "(1,)"), f32_bytes({1}), 4), {"version 4.0"});
  std::string minor = npy_file(dict("<f4", "(1,)"), f32_bytes({1}));
  minor[7] = 1;
  expect_rejected(minor, {"version 1.1"});
}

TEST(Npy, RejectsFileEndingInsidePrefix) {
  expect_rejected(std::string("\x93NUMPY", 6), {"truncated", "version"});
  expect_rejected(std::string("\x93NUMPY\x01\x00", 8), {"truncated", "header length"});
}

TEST(Npy, RejectsHeaderLengthBeyondFile) {
  std::string bytes = npy_file(dict("<f4", "(1,)"), "");
  bytes[8] = static_cast<char>(0xff);  // header length 0x??ff > what follows
  expect_rejected(bytes, {"truncated", "header says"});
}

TEST(Npy, RejectsAbsurdHeaderLength) {
  // Version 2.0 with a 4 GiB header length: rejected from the 12-byte prefix, nothing allocated.
  std::string bytes = "\x93NUMPY\x02";
  bytes += '\0';
  bytes += std::string(4, '\xff');
  bytes += "{}";
  expect_rejected(bytes, {"header length 4294967295", "limit"});
}

TEST(Npy, RejectsUnparsableHeader) {
  expect_rejected(npy_file("this is not a dict", ""), {"malformed .npy header"});
  expect_rejected(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,", ""),
                  {"malformed .npy header"});
  expect_rejected(npy_file("{'descr': '<f4 ", ""), {"unterminated string"});
  expect_rejected(npy_file(dict("<f4", "(1,)") + " extra", f32_bytes({1})),
                  {"after the closing"});
}

TEST(Npy, RejectsMissingDescr) {
  expect_rejected(npy_file("{'fortran_order': False, 'shape': (1,), }", f32_bytes({1})),
                  {"no 'descr'"});
}

TEST(Npy, RejectsMissingFortranOrder) {
  expect_rejected(npy_file("{'descr': '<f4', 'shape': (1,), }", f32_bytes({1})),
                  {"no 'fortran_order'"});
}

TEST(Npy, RejectsMissingShape) {
  expect_rejected(npy_file("{'descr': '<f4', 'fortran_order': False, }", f32_bytes({1})),
                  {"no 'shape'"});
}

TEST(Npy, RejectsUnknownAndDuplicateKeys) {
  expect_rejected(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1, }",
                           f32_bytes({1})),
                  {"unexpected key 'x'"});
  expect_rejected(npy_file("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                           "'shape': (1,), }", f32_bytes({1})),
                  {"'descr' appears twice"});
}

TEST(Npy, RejectsBadFortranOrderValue) {
  expect_rejected(npy_file("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", f32_bytes({1})),
                  {"'fortran_order' is not True or False"});
}

TEST(Npy, RejectsFloat64WithAdvice) {
  expect_rejected(npy_file(dict("<f8", "(1,)"), std::string(8, '\0')),
                  {"dtype '<f8': expected '<f4' or '<f2' (float32/float16 little-endian); "
                   "convert with x.astype('float32')"});
}

TEST(Npy, RejectsUint8) {
  expect_rejected(npy_file(dict("|u1", "(4,)"), std::string(4, '\0')), {"dtype '|u1'"});
}

TEST(Npy, RejectsBigEndian) {
  expect_rejected(npy_file(dict(">f4", "(1,)"), std::string(4, '\0')),
                  {"dtype '>f4' is big-endian", "astype('<f4')"});
}

TEST(Npy, RejectsStructuredDtype) {
  expect_rejected(npy_file("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                           std::string(4, '\0')),
                  {"structured dtype"});
}

TEST(Npy, RejectsRankAbove3) {
  expect_rejected(npy_file(dict("<f4", "(1, 1, 1, 1)"), f32_bytes({1})), {"rank 4", "rank 0 to 3"});
  expect_rejected(npy_file(dict("<f4", "(1, 1, 1, 1, 1, 1)"), f32_bytes({1})), {"rank 4 or more"});
}

TEST(Npy, RejectsNegativeOrNonIntegerShape) {
  expect_rejected(npy_file(dict("<f4", "(-1,)"), ""), {"non-negative integer"});
  expect_rejected(npy_file(dict("<f4", "(2.5,)"), ""), {"'shape'"});
  expect_rejected(npy_file(dict("<f4", "(3)"), f32_bytes({1, 2, 3})), {"not a tuple"});
}

TEST(Npy, RejectsShapeEntryBeyondInt64) {
  expect_rejected(npy_file(dict("<f4", "(99999999999999999999,)"), ""), {"larger than a 64-bit"});
}

TEST(Npy, RejectsShapeProductOverflow) {
  expect_rejected(npy_file(dict("<f4", "(4294967296, 4294967296, 4)"), ""),
                  {"more elements than fit in 64 bits"});
  expect_rejected(npy_file(dict("<f4", "(4611686018427387904,)"), ""),
                  {"more bytes than fit in 64 bits"});
}

TEST(Npy, RejectsShapeLargerThanFile) {
  // 10^12 elements would be 4 TB: the file's size disproves it before anything is allocated.
  expect_rejected(npy_file(dict("<f4", "(1000000, 1000000)"), f32_bytes({1, 2})),
                  {"truncated", "4000000000000 data bytes", "has 8"});
}

TEST(Npy, RejectsTruncatedData) {
  expect_rejected(npy_file(dict("<f4", "(2, 3)"), f32_bytes({1, 2, 3, 4, 5})),
                  {"truncated", "(2, 3) float32 needs 24 data bytes but the file has 20"});
}

TEST(Npy, RejectsTrailingBytes) {
  expect_rejected(npy_file(dict("<f4", "(2,)"), f32_bytes({1, 2}) + "junk"),
                  {"4 unexpected bytes after the data"});
}

// ---- writing --------------------------------------------------------------------------------------

TEST(NpyWrite, RejectsBfloat16) {
  ScratchDir dir;
  EXPECT_THROW(io::write_npy(dir.file("b.npy"), HostArray::zeros(DType::bf16, {2})), FileError);
  EXPECT_TRUE(dir.entries().empty());
}

TEST(NpyWrite, MissingDirectoryLeavesNothing) {
  ScratchDir dir;
  try {
    io::write_npy(dir.file("missing/y.npy"), iota(DType::f32, {3}));
    ADD_FAILURE();
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("missing/y.npy"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(NpyWrite, ReplacesAnExistingFileWhole) {
  ScratchDir dir;
  write_file(dir.file("y.npy"), std::string(1000, 'x'));
  io::write_npy(dir.file("y.npy"), iota(DType::f16, {2, 2}));
  EXPECT_EQ(io::read_npy(dir.file("y.npy")).shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"y.npy"});
}

}  // namespace
}  // namespace sepconv::test
