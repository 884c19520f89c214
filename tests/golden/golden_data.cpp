#include "golden/golden_data.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "io/npy.h"

namespace sepconv::test::golden {

std::string Case::framework_label() const {
  return framework + " " + framework_version + " (" + backend + ")";
}

std::string directory() {
  const char* from_environment = std::getenv("SEPCONV_GOLDEN_DIR");
  if (from_environment != nullptr && *from_environment != '\0') return from_environment;
  return SEPCONV_GOLDEN_DIR;
}

std::vector<Case> load_manifest() {
  const std::string path = directory() + "/manifest.json";
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error(path + ": missing (run tools/gen_keras_golden.py, see "
                             "tests/data/golden/README.md)");
  }
  std::vector<Case> cases;
  try {
    const auto manifest = nlohmann::json::parse(in);
    for (const auto& j : manifest.at("cases")) {
      Case c;
      c.name = j.at("name").get<std::string>();
      c.kind = j.at("kind").get<std::string>();
      c.framework = j.at("framework").get<std::string>();
      c.framework_version = j.at("framework_version").get<std::string>();
      c.backend = j.at("backend").get<std::string>();
      c.input_shape = j.at("input_shape").get<std::vector<std::int64_t>>();
      c.notes = j.value("notes", "");
      if (c.kind == "error") {
        const auto& e = j.at("error");
        c.error_argument = e.at("argument").get<std::string>();
        c.keras_raised = e.value("keras_raised", true);
        if (!e.at("type").is_null()) c.error_type = e.at("type").get<std::string>();
        if (!e.at("message").is_null()) c.error_message = e.at("message").get<std::string>();
      } else if (c.kind != "forward") {
        throw std::runtime_error("case " + c.name + ": unknown kind \"" + c.kind + "\"");
      }
      cases.push_back(std::move(c));
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": malformed: " + e.what());
  }
  return cases;
}

keras::LayerSpec load_config(const Case& c) {
  return keras::read_layer_config(directory() + "/" + c.name + "/config.json");
}

ForwardCase load_forward(const Case& c) {
  ForwardCase f;
  f.folder = directory() + "/" + c.name;
  f.config = load_config(c);
  f.input = io::read_npy(f.file("input.npy"));
  f.depthwise = io::read_npy(f.file("depthwise.npy"));
  f.pointwise = io::read_npy(f.file("pointwise.npy"));
  if (f.config.layer.use_bias) f.bias = io::read_npy(f.file("bias.npy"));
  f.output = io::read_npy(f.file("output.npy"));
  return f;
}

Weights ForwardCase::weights() const {
  return {depthwise.view(), pointwise.view(),
          config.layer.use_bias ? bias.view() : ConstTensorView{}};
}

std::int64_t ForwardCase::in_channels() const {
  if (input.shape.size() != 3) return 0;
  return input.shape[config.layer.data_format == DataFormat::channels_last ? 2 : 1];
}

std::vector<Case> cases_of_kind(const std::string& kind) {
  std::vector<Case> selected;
  try {
    for (auto& c : load_manifest()) {
      if (c.kind == kind) selected.push_back(std::move(c));
    }
  } catch (const std::exception&) {
    // Reported by the GoldenData.ManifestLoads test.
  }
  return selected;
}

}  // namespace sepconv::test::golden
