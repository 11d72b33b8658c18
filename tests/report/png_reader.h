// A small PNG reader for the chart tests: checks the signature and chunk layout, inflates the
// image data with zlib and undoes the row filters, so a test can ask what the picture holds.
// Reads what cairo writes (8-bit gray, RGB, gray+alpha, RGBA, not interlaced); reports others.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace aded::testing {

struct PngImage {
  uint32_t width = 0, height = 0;
  int bit_depth = 0, color_type = 0, channels = 0;
  std::vector<uint8_t> pixels;  // height rows of width * channels bytes

  // Distinct pixel values (all channels), counted up to `limit`.
  size_t distinct_colors(size_t limit = 1000) const {
    std::set<uint32_t> seen;
    const size_t size = static_cast<size_t>(channels);
    for (size_t i = 0; i + size <= pixels.size() && seen.size() < limit; i += size) {
      uint32_t value = 0;
      for (size_t c = 0; c < size; ++c) value = value << 8 | pixels[i + c];
      seen.insert(value);
    }
    return seen.size();
  }
};

namespace png_detail {

inline uint32_t big_endian(const std::string& b, size_t at) {
  if (at + 4 > b.size()) throw std::runtime_error("PNG truncated");
  return (uint32_t{static_cast<uint8_t>(b[at])} << 24) |
         (uint32_t{static_cast<uint8_t>(b[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(b[at + 2])} << 8) |
         uint32_t{static_cast<uint8_t>(b[at + 3])};
}

inline int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Undoes PNG's per-row filters (specification section 9) in place of `raw`.
inline std::vector<uint8_t> unfilter(const std::vector<uint8_t>& raw, size_t rows, size_t stride,
                                     size_t bpp) {
  if (raw.size() != rows * (stride + 1))
    throw std::runtime_error("PNG image data has the wrong size");
  std::vector<uint8_t> out(rows * stride);
  for (size_t y = 0; y < rows; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* row = &out[y * stride];
    const uint8_t* up = y ? &out[(y - 1) * stride] : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= bpp ? row[x - bpp] : 0, b = up ? up[x] : 0,
                c = up && x >= bpp ? up[x - bpp] : 0;
      int predictor = 0;
      switch (filter) {
        case 0:
          break;
        case 1:
          predictor = a;
          break;
        case 2:
          predictor = b;
          break;
        case 3:
          predictor = (a + b) / 2;
          break;
        case 4:
          predictor = paeth(a, b, c);
          break;
        default:
          throw std::runtime_error("PNG row filter " + std::to_string(filter) + " is invalid");
      }
      row[x] = static_cast<uint8_t>(in[x] + predictor);
    }
  }
  return out;
}

}  // namespace png_detail

// Throws std::runtime_error naming what is wrong with the file.
inline PngImage decode_png(const std::string& bytes) {
  using png_detail::big_endian;
  static const std::string kSignature("\x89PNG\r\n\x1a\n", 8);
  if (bytes.compare(0, 8, kSignature) != 0) throw std::runtime_error("not a PNG: bad signature");
  PngImage img;
  std::string compressed;
  bool ended = false;
  for (size_t at = 8; at < bytes.size() && !ended;) {
    const uint32_t length = big_endian(bytes, at);
    if (at + 12 + length > bytes.size())
      throw std::runtime_error("PNG chunk runs past the end of the file");
    const std::string type = bytes.substr(at + 4, 4), data = bytes.substr(at + 8, length);
    const uint32_t crc = big_endian(bytes, at + 8 + length);
    const auto* typed = reinterpret_cast<const Bytef*>(bytes.data() + at + 4);
    if (crc32(0, typed, static_cast<uInt>(length + 4)) != crc)
      throw std::runtime_error("PNG chunk " + type + ": bad CRC");
    if (at == 8 && type != "IHDR") throw std::runtime_error("PNG does not start with IHDR");
    if (type == "IHDR") {
      img.width = big_endian(data, 0);
      img.height = big_endian(data, 4);
      img.bit_depth = static_cast<uint8_t>(data[8]);
      img.color_type = static_cast<uint8_t>(data[9]);
      if (data[12] != 0) throw std::runtime_error("interlaced PNG: not read here");
    } else if (type == "IDAT") {
      compressed += data;
    } else if (type == "IEND") {
      ended = true;
    }
    at += 12 + length;
  }
  if (!ended) throw std::runtime_error("PNG has no IEND chunk");
  const int channels[] = {1, 0, 3, 0, 2, 0, 4};
  if (img.bit_depth != 8 || img.color_type > 6 || channels[img.color_type] == 0)
    throw std::runtime_error("PNG of bit depth " + std::to_string(img.bit_depth) + ", color type " +
                             std::to_string(img.color_type) + ": not read here");
  img.channels = channels[img.color_type];
  const size_t stride = size_t{img.width} * static_cast<size_t>(img.channels);
  std::vector<uint8_t> raw(size_t{img.height} * (stride + 1));
  uLongf raw_size = static_cast<uLongf>(raw.size());
  if (uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(compressed.data()),
                 static_cast<uLong>(compressed.size())) != Z_OK ||
      raw_size != raw.size())
    throw std::runtime_error("PNG image data does not inflate to width x height");
  img.pixels = png_detail::unfilter(raw, img.height, stride, static_cast<size_t>(img.channels));
  return img;
}

}  // namespace aded::testing
