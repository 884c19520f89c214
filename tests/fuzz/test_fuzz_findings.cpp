// Unit tests of what fuzzing found and of what the fuzz targets rely on:
//   * each finding's input (also in corpus/<target>/regress-*, which the fuzz_replay tests run)
//     rejected with the clear message the fixed reader gives;
//   * keras::ModelFile::from_memory, the entry point the Keras targets use: the same layers and
//     weights as the file on disk, in every format, and errors that name the name it was given.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "io/npy.h"
#include "sepconv/keras.h"

namespace sepconv::test {
namespace {

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string corpus(const std::string& file) {
  return std::string(SEPCONV_FUZZ_CORPUS_DIR) + "/" + file;
}

std::string model(const std::string& file) {
  return std::string(SEPCONV_FUZZ_MODELS_DIR) + "/" + file;
}

bool one_printable_line(const std::string& s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
  }
  return true;
}

// ---- findings ------------------------------------------------------------------------------------

// fuzz_npy: a header key with bytes outside printable ASCII (here "f\x91\x8d..." in place of
// 'fortran_order') was copied into the message raw: a message with control and non-ASCII bytes.
TEST(FuzzFindings, NpyKeyWithControlBytesIsShownEscaped) {
  const auto bytes = read_bytes(corpus("npy/regress-key-with-control-bytes.npy"));
  try {
    (void)io::parse_npy(bytes.data(), bytes.size(), "x.npy");
    FAIL() << "accepted";
  } catch (const io::FileError& e) {
    const std::string what = e.what();
    EXPECT_TRUE(one_printable_line(what)) << what;
    EXPECT_NE(what.find("x.npy: malformed .npy header: an unexpected key 'f\\x91\\x8d"), std::string::npos) << what;
  }
}

TEST(FuzzFindings, NpyDtypeIsShownEscapedAndShortened) {
  const std::string descr = "<f\n" + std::string(200, 'x');
  const std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (), }\n";
  std::string file = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size() & 0xff) +
                     static_cast<char>(header.size() >> 8) + header;
  try {
    (void)io::parse_npy(reinterpret_cast<const unsigned char*>(file.data()), file.size(), "x.npy");
    FAIL() << "accepted";
  } catch (const io::FileError& e) {
    const std::string what = e.what();
    EXPECT_TRUE(one_printable_line(what)) << what;
    EXPECT_NE(what.find("dtype '<f\\x0axxx"), std::string::npos) << what;
    EXPECT_NE(what.find("...'"), std::string::npos) << what;
    EXPECT_LT(what.size(), 250u) << what;
  }
}

// fuzz_keras_config: a layer config whose depth_multiplier (2^62) times the weights' input
// channels (7) overflows int64 was multiplied unchecked (undefined behaviour, UBSan's report)
// when the weights' shapes were checked against it.
TEST(FuzzFindings, KerasDepthMultiplierTimesChannelsOverflow) {
  const auto config = read_bytes(corpus("keras_config/regress-depth-multiplier-overflow.json"));
  const auto weights = read_bytes(model("k3_model.weights.h5"));
  const keras::ModelFile file = keras::ModelFile::from_memory(
      weights.data(), weights.size(), "w.h5", std::string(config.begin(), config.end()));
  ASSERT_EQ(file.layers().size(), 2u);  // the model has two layers named sep: sep, block/sep
  for (const keras::LayerInfo& info : file.layers()) {
    EXPECT_NE(info.problem.find("depth_multiplier) = (5, C, 4611686018427387904) with C > 0 and "
                                "C * depth_multiplier within 64 bits"), std::string::npos) << info.problem;
    try {
      (void)file.load(info.path);
      ADD_FAILURE() << "loaded " << info.path;
    } catch (const keras::FileError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("w.h5: layer '" + info.path + "': its depthwise kernel", 0), 0u)
          << e.what();
    }
  }
}

// ---- ModelFile::from_memory ----------------------------------------------------------------------

struct Case {
  std::string file, config;
};
const Case kCases[] = {{"k3_model.keras", ""},
                       {"k3_model.weights.h5", "k3_model.json"},
                       {"k3_model.weights.h5", "k3_model.layer.sep.json"},
                       {"tk_model.h5", ""},
                       {"tk_model_weights.h5", "tk_model.json"},
                       {"tk_model_weights.h5", "tk_model.layer.sep_s.json"}};

TEST(ModelFileFromMemory, SameLayersAndWeightsAsTheFile) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.file + " " + c.config);
    const keras::ModelFile on_disk(model(c.file), c.config.empty() ? "" : model(c.config));
    const auto bytes = read_bytes(model(c.file));
    std::string config_text;
    if (!c.config.empty()) {
      const auto text = read_bytes(model(c.config));
      config_text.assign(text.begin(), text.end());
    }
    const keras::ModelFile in_memory =
        keras::ModelFile::from_memory(bytes.data(), bytes.size(), "memory", config_text);
    EXPECT_EQ(in_memory.path(), "memory");
    EXPECT_EQ(in_memory.format(), on_disk.format());
    ASSERT_EQ(in_memory.layers().size(), on_disk.layers().size());
    ASSERT_FALSE(on_disk.layers().empty());
    for (std::size_t i = 0; i < on_disk.layers().size(); ++i) {
      const keras::LayerInfo& a = on_disk.layers()[i];
      const keras::LayerInfo& b = in_memory.layers()[i];
      EXPECT_EQ(b.path, a.path);
      EXPECT_EQ(b.in_channels, a.in_channels);
      EXPECT_EQ(b.problem, a.problem);
      EXPECT_EQ(keras::describe(b.spec), keras::describe(a.spec));
      if (!a.problem.empty()) continue;
      const keras::Layer la = on_disk.load(a.path);
      const keras::Layer lb = in_memory.load(a.path);
      EXPECT_EQ(lb.depthwise.bytes, la.depthwise.bytes);
      EXPECT_EQ(lb.pointwise.bytes, la.pointwise.bytes);
      EXPECT_EQ(lb.bias.bytes, la.bias.bytes);
      EXPECT_EQ(lb.depthwise.shape, la.depthwise.shape);
    }
  }
}

// The FileError a call throws: it names `name`, in one printable line.
template <class F>
std::string file_error(F&& f, const std::string& name) {
  try {
    f();
  } catch (const keras::FileError& e) {
    EXPECT_EQ(e.path(), name);
    EXPECT_EQ(std::string(e.what()).rfind(name + ": ", 0), 0u) << e.what();
    EXPECT_TRUE(one_printable_line(e.what())) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no FileError";
  return {};
}

TEST(ModelFileFromMemory, ErrorsNameTheGivenName) {
  const auto weights = read_bytes(model("k3_model.weights.h5"));
  const auto archive = read_bytes(model("k3_model.keras"));
  const auto open = [](const std::vector<unsigned char>& b, std::size_t size, const std::string& config) {
    return [&b, size, config] { (void)keras::ModelFile::from_memory(b.data(), size, "blob", config); };
  };
  EXPECT_NE(file_error(open(weights, 0, ""), "blob").find("an empty file"), std::string::npos);
  EXPECT_NE(file_error(open(weights, 7, ""), "blob").find("it starts with the bytes 89 48 44 46"),
            std::string::npos);
  EXPECT_NE(file_error(open(weights, weights.size(), ""), "blob").find("holds weights only"),
            std::string::npos);
  EXPECT_NE(file_error(open(weights, weights.size(), "{\"filters\": "), "blob").find("its config JSON: "),
            std::string::npos);
  EXPECT_NE(file_error(open(weights, weights.size() / 2, "{}"), "blob").find("a truncated or corrupt HDF5 file"),
            std::string::npos);
  EXPECT_NE(file_error(open(archive, archive.size(), "{}"), "blob").find("a config JSON was given with it"),
            std::string::npos);
  EXPECT_NE(file_error(open(archive, archive.size() - 100, ""), "blob").find("a truncated or corrupt .keras archive"),
            std::string::npos);
}

}  // namespace
}  // namespace sepconv::test
