// One-dimensional arrays: the binary array format and the text array literal ("{1,NULL,"a b"}").
#include <cstring>
#include <limits>
#include <string>

#include "balrog/pg/types.hpp"
#include "codecs/wire.hpp"

namespace balrog::pg::detail {

namespace {

constexpr std::string_view vector_name = "std::vector (a one-dimensional array)";

// Unquoted NULL (any case) is the NULL element; anything else can be quoted.
bool is_null_word(std::string_view w) noexcept {
  return w.size() == 4 && (w[0] == 'N' || w[0] == 'n') && (w[1] == 'U' || w[1] == 'u') &&
         (w[2] == 'L' || w[2] == 'l') && (w[3] == 'L' || w[3] == 'l');
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void split_binary(const field& f, array_items& out) {
  const std::string_view t = f.raw();
  if (t.size() < 12) throw_malformed(f, "array");
  const auto ndim = static_cast<std::int32_t>(read_be<std::uint32_t>(t.data()));
  out.element_type = read_be<std::uint32_t>(t.data() + 8);
  if (ndim == 0) return;
  if (ndim != 1) throw_type_mismatch(f, vector_name);
  if (t.size() < 20) throw_malformed(f, "array");
  const auto n = static_cast<std::int32_t>(read_be<std::uint32_t>(t.data() + 12));
  if (n < 0) throw_malformed(f, "array");
  std::size_t at = 20;
  out.values.reserve(static_cast<std::size_t>(n));
  for (std::int32_t i = 0; i < n; ++i) {
    if (t.size() - at < 4) throw_malformed(f, "array");
    const auto len = static_cast<std::int32_t>(read_be<std::uint32_t>(t.data() + at));
    at += 4;
    if (len == -1) {
      out.values.emplace_back(std::nullopt);
      continue;
    }
    if (len < 0 || t.size() - at < static_cast<std::size_t>(len)) throw_malformed(f, "array");
    out.values.emplace_back(t.substr(at, static_cast<std::size_t>(len)));
    at += static_cast<std::size_t>(len);
  }
  if (at != t.size()) throw_malformed(f, "array");
}

void split_text(const field& f, array_items& out) {
  out.element_type = element_type_of(f.type());
  std::string_view t = f.raw();
  // "[0:2]={...}": explicit bounds; the elements are what matter.
  if (!t.empty() && t.front() == '[') {
    const auto eq = t.find('=');
    if (eq == std::string_view::npos) throw_malformed(f, "array");
    if (t.find("][") < eq) throw_type_mismatch(f, vector_name);
    t.remove_prefix(eq + 1);
  }
  if (t.empty() || t.front() != '{') throw_malformed(f, "array");
  t.remove_prefix(1);
  // Elements are unescaped into storage; (offset, size) first, views once storage is final.
  struct span {
    std::size_t offset;
    std::size_t size;
    bool null;
  };
  std::vector<span> spans;
  auto skip_space = [&] {
    while (!t.empty() && is_space(t.front())) t.remove_prefix(1);
  };
  skip_space();
  if (!t.empty() && t.front() == '}') {
    t.remove_prefix(1);
  } else {
    for (;;) {
      skip_space();
      if (t.empty()) throw_malformed(f, "array");
      if (t.front() == '{') throw_type_mismatch(f, vector_name);
      const std::size_t offset = out.storage.size();
      if (t.front() == '"') {
        t.remove_prefix(1);
        for (;;) {
          if (t.empty()) throw_malformed(f, "array");
          char c = t.front();
          t.remove_prefix(1);
          if (c == '"') break;
          if (c == '\\') {
            if (t.empty()) throw_malformed(f, "array");
            c = t.front();
            t.remove_prefix(1);
          }
          out.storage.push_back(c);
        }
        spans.push_back({offset, out.storage.size() - offset, false});
        skip_space();
      } else {
        std::size_t last_kept = offset;  // unquoted: trailing spaces are dropped
        bool escaped_any = false;
        while (!t.empty() && t.front() != ',' && t.front() != '}') {
          char c = t.front();
          t.remove_prefix(1);
          bool keep = !is_space(c);
          if (c == '\\') {
            if (t.empty()) throw_malformed(f, "array");
            c = t.front();
            t.remove_prefix(1);
            keep = true;
            escaped_any = true;
          }
          out.storage.push_back(c);
          if (keep) last_kept = out.storage.size();
        }
        out.storage.resize(last_kept);
        const std::string_view word(out.storage.data() + offset, last_kept - offset);
        if (word.empty()) throw_malformed(f, "array");
        spans.push_back({offset, word.size(), !escaped_any && is_null_word(word)});
      }
      if (t.empty()) throw_malformed(f, "array");
      const char sep = t.front();
      t.remove_prefix(1);
      if (sep == '}') break;
      if (sep != ',') throw_malformed(f, "array");
    }
  }
  skip_space();
  if (!t.empty()) throw_malformed(f, "array");
  out.values.reserve(spans.size());
  for (const span& s : spans) {
    if (s.null) {
      out.values.emplace_back(std::nullopt);
    } else {
      out.values.emplace_back(std::string_view(out.storage.data() + s.offset, s.size));
    }
  }
}

}  // namespace

void split_array(const field& f, array_items& out) {
  if (f.type() != 0 && is_known_scalar(f.type())) throw_type_mismatch(f, vector_name);
  out.binary = f.is_binary();
  if (f.is_binary()) {
    split_binary(f, out);
  } else {
    split_text(f, out);
  }
}

param encode_array(const std::vector<param>& elements, std::uint32_t element_type) {
  bool any_binary = false;
  bool any_text = false;
  bool any_null = false;
  for (const param& e : elements) {
    if (!e.value) {
      any_null = true;
    } else {
      (e.binary ? any_binary : any_text) = true;
      if (element_type == 0) element_type = e.oid;
    }
  }
  if (any_binary && any_text) {
    throw_usage("array parameter: its elements mix text and binary formats");
  }
  param out;
  out.oid = array_type_of(element_type);
  out.value.emplace();
  std::string& v = *out.value;
  if (!any_binary) {
    v.push_back('{');
    for (std::size_t i = 0; i < elements.size(); ++i) {
      if (i > 0) v.push_back(',');
      if (!elements[i].value) {
        v += "NULL";
        continue;
      }
      v.push_back('"');
      for (char c : *elements[i].value) {
        if (c == '"' || c == '\\') v.push_back('\\');
        v.push_back(c);
      }
      v.push_back('"');
    }
    v.push_back('}');
    return out;
  }
  if (element_type == 0) {
    throw_usage("array parameter: binary elements need their type's OID (value_codec<T>::oid)");
  }
  if (elements.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    throw_unrepresentable("an array of more than 2^31 elements");
  }
  out.binary = true;
  append_be<std::uint32_t>(v, 1);                 // dimensions
  append_be<std::uint32_t>(v, any_null ? 1 : 0);  // has NULLs
  append_be<std::uint32_t>(v, element_type);      // element type
  append_be<std::uint32_t>(v, static_cast<std::uint32_t>(elements.size()));
  append_be<std::uint32_t>(v, 1);  // lower bound
  for (const param& e : elements) {
    if (!e.value) {
      append_be<std::uint32_t>(v, 0xffffffffU);
      continue;
    }
    append_be<std::uint32_t>(v, static_cast<std::uint32_t>(e.value->size()));
    v += *e.value;
  }
  return out;
}

}  // namespace balrog::pg::detail
