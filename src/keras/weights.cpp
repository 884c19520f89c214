#include "keras/weights.h"

#include <algorithm>

#include "keras/text.h"

namespace sepconv::keras::detail {
namespace {

// Nested models deeper than this are not followed (and a file that claims them is refused).
constexpr int kMaxNesting = 32;
// Groups visited when searching a file for a layer by name.
constexpr int kMaxGroupsVisited = 100000;

std::string join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  return a + "/" + b;
}

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string slash(const std::string& path) { return "/" + printable(path); }

// The "vars" group's variables in order, "0", "1"[, "2"]; anything else is not a SeparableConv1D.
std::vector<std::string> v3_variables(const hdf5::File& file, const std::string& vars) {
  std::vector<std::string> names = file.members(vars);
  std::vector<std::string> datasets;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto it = std::find(names.begin(), names.end(), std::to_string(i));
    if (it == names.end()) {
      throw Problem(str("the variables of ", slash(vars), " are ", names.size(),
                        " datasets not named 0..", names.size() - 1));
    }
    datasets.push_back(vars + "/" + std::to_string(i));
  }
  return datasets;
}

// The name Keras 3.15 records in a "vars" group, or "" when it recorded none.
std::string recorded_name(const hdf5::File& file, const std::string& vars) {
  if (!file.has_attribute(vars, "name")) return {};
  const auto names = file.strings(vars, "name");
  return names.empty() ? std::string() : names.front();
}

struct Finder {
  const hdf5::File& file;
  const std::string& name;
  std::vector<WeightsLocation> found;
  int visited = 0;

  void walk(const std::string& layers, const std::string& prefix, int depth) {
    if (depth > kMaxNesting) throw Problem(str("models nested more than ", kMaxNesting, " deep"));
    for (const auto& child : file.members(layers)) {
      if (++visited > kMaxGroupsVisited) throw Problem(str("more than ", kMaxGroupsVisited, " groups"));
      const std::string group = layers + "/" + child;
      if (file.kind(group) != hdf5::Kind::group) continue;
      const std::string vars = group + "/vars";
      const bool has_vars = file.kind(vars) == hdf5::Kind::group;
      std::string layer = has_vars ? recorded_name(file, vars) : std::string();
      if (layer.empty()) layer = child;
      if (has_vars && layer == name && file.kind(group + "/layers") == hdf5::Kind::none) {
        found.push_back({join(prefix, layer), v3_variables(file, vars)});
      }
      if (file.kind(group + "/layers") == hdf5::Kind::group) walk(group + "/layers", join(prefix, layer), depth + 1);
    }
  }
};

// "sep/depthwise_kernel:0" -> {"sep", "depthwise_kernel"}: the name's components, ":N" dropped.
std::vector<std::string> weight_components(const std::string& weight_name) {
  std::string s = weight_name;
  const auto colon = s.rfind(':');
  if (colon != std::string::npos && colon + 1 < s.size() &&
      std::all_of(s.begin() + static_cast<std::ptrdiff_t>(colon) + 1, s.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    s.resize(colon);
  }
  return split(s);
}

constexpr const char* kKinds[] = {"depthwise_kernel", "pointwise_kernel", "bias"};

// How well a weight name matches layer `path` and variable `kind`: 0 no match, else the number of
// the path's trailing components it names (at least the layer's own name).
std::size_t match(const std::vector<std::string>& weight, const std::vector<std::string>& path,
                  const char* kind) {
  if (weight.size() < 2 || weight.back() != kind) return 0;
  std::size_t n = 0;
  while (n < path.size() && n + 1 < weight.size() &&
         weight[weight.size() - 2 - n] == path[path.size() - 1 - n]) {
    ++n;
  }
  return n;
}

// The variables of a layer whose path is `path` in the legacy group `group` (whose attribute
// weight_names lists them); empty datasets when it has none there. Throws Problem when two
// variables match equally well.
WeightsLocation legacy_in_group(const hdf5::File& file, const std::string& group,
                                const std::vector<std::string>& path) {
  const auto names = chunked_strings(file, group, "weight_names");
  WeightsLocation out;
  for (const char* kind : kKinds) {
    std::size_t best = 0;
    std::vector<const std::string*> at_best;
    for (const auto& n : names) {
      const std::size_t score = match(weight_components(n), path, kind);
      if (score == 0 || score < best) continue;
      if (score > best) at_best.clear();
      best = score;
      at_best.push_back(&n);
    }
    if (at_best.size() > 1) {
      throw Problem(str("the weights of ", slash(group), " name two ", kind, "s for layer ",
                        in_quotes(path.back()), ": ", in_quotes(*at_best[0]), " and ", in_quotes(*at_best[1])));
    }
    if (at_best.empty()) {
      if (std::string(kind) == "bias") break;
      return {};
    }
    out.datasets.push_back(group + "/" + *at_best[0]);
  }
  return out;
}

// The top-level layer groups of a legacy weights root: its layer_names (Keras's order), or its
// member groups when it has none.
std::vector<std::string> legacy_layer_names(const hdf5::File& file, const std::string& root) {
  auto names = chunked_strings(file, root, "layer_names");
  if (names.empty() && !file.has_attribute(root, "layer_names")) names = file.members(root);
  return names;
}

}  // namespace

std::vector<std::string> chunked_strings(const hdf5::File& file, const std::string& path,
                                         const std::string& name) {
  if (file.has_attribute(path, name)) return file.strings(path, name);
  std::vector<std::string> out;
  for (int i = 0; file.has_attribute(path, name + std::to_string(i)); ++i) {
    for (auto& s : file.strings(path, name + std::to_string(i))) out.push_back(std::move(s));
  }
  return out;
}

WeightsLocation v3_locate(const hdf5::File& file, const ConfigNode& node) {
  const std::string vars = node.v3_group + "/vars";
  if (file.kind(node.v3_group) != hdf5::Kind::group || file.kind(vars) != hdf5::Kind::group) {
    throw Problem(str("no weights for it: the file has no group ", slash(vars),
                      " (where Keras 3 saves this layer's variables; the layer was not built, or "
                      "the config is of another model)"));
  }
  const std::string recorded = recorded_name(file, vars);
  if (!recorded.empty() && recorded != node.name) {
    throw Problem(str("the weights at ", slash(vars), " are layer ", in_quotes(recorded),
                      "'s, not ", in_quotes(node.name), "'s: the config and the weights are of "
                      "different models"));
  }
  return {node.path, v3_variables(file, vars)};
}

std::vector<WeightsLocation> v3_find(const hdf5::File& file, const std::string& name) {
  Finder finder{file, name, {}, 0};
  if (file.kind("layers") == hdf5::Kind::group) finder.walk("layers", "", 0);
  return finder.found;
}

WeightsLocation legacy_locate(const hdf5::File& file, const std::string& root,
                              const ConfigNode& node) {
  const std::vector<std::string> path = split(node.path);
  const std::string group = join(root, path.front());
  const auto top = legacy_layer_names(file, root);
  if (std::find(top.begin(), top.end(), path.front()) == top.end() ||
      file.kind(group) != hdf5::Kind::group) {
    throw Problem(str("no weights for it: the weights list no layer ", in_quotes(path.front()),
                      " (the config is of another model?)"));
  }
  WeightsLocation out = legacy_in_group(file, group, path);
  if (out.datasets.empty()) {
    throw Problem(str("no weights for it: ", slash(group),
                      "'s weight_names have no depthwise_kernel and pointwise_kernel of layer ",
                      in_quotes(path.back())));
  }
  out.path = node.path;
  return out;
}

std::vector<WeightsLocation> legacy_find(const hdf5::File& file, const std::string& root,
                                         const std::string& name) {
  std::vector<WeightsLocation> found;
  for (const auto& top : legacy_layer_names(file, root)) {
    const std::string group = join(root, top);
    if (file.kind(group) != hdf5::Kind::group) continue;
    WeightsLocation at = legacy_in_group(file, group, {name});
    if (at.datasets.empty()) continue;
    at.path = top == name ? name : top + "/" + name;
    found.push_back(std::move(at));
  }
  return found;
}

}  // namespace sepconv::keras::detail
