/* The forward passes of the book's interactive figures, in plain JavaScript (no library).
 *
 * Each function mirrors one in the companion package (named in its comment) and follows the same
 * conventions: images are row-major Float64Arrays [H, W] (one channel) or [H, W, C] (channels last,
 * as Keras), kernels [kh, kw] or [kh, kw, C_in, C_out], dense kernels [n_in, n_out].
 * Runs in a browser (window.CapsDemoNN) and in Node (require), where tests/js/ checks it.
 */
(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.CapsDemoNN = api;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  // ---- Weight files (capsnet_book.demos.encode_arrays / decode_arrays) ----

  function base64Bytes(text) {
    if (typeof atob === "function") {
      const binary = atob(text);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      return bytes;
    }
    return new Uint8Array(Buffer.from(text, "base64"));
  }

  function halfToFloat(h) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    if (exponent === 0) return sign * Math.pow(2, -14) * (fraction / 1024);
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * Math.pow(2, exponent - 15) * (1 + fraction / 1024);
  }

  /** {name: {shape, data: Float64Array}} from a figure's record {header, payload}. */
  function decodeArrays(record) {
    const bytes = base64Bytes(record.payload);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < record.header.bytes) {
      throw new Error(`payload has ${bytes.length} bytes, the header describes ${record.header.bytes}`);
    }
    const out = {};
    for (const entry of record.header.arrays) {
      const size = entry.shape.reduce((a, b) => a * b, 1);
      const data = new Float64Array(size);
      if (entry.encoding === "float16") {
        for (let i = 0; i < size; i++) data[i] = halfToFloat(view.getUint16(entry.offset + 2 * i, true));
      } else if (entry.encoding === "int8") {
        const columns = entry.shape[1];
        const scale = new Float64Array(columns);
        for (let j = 0; j < columns; j++) scale[j] = view.getFloat32(entry.scale_offset + 4 * j, true);
        for (let i = 0; i < size; i++) data[i] = view.getInt8(entry.offset + i) * scale[i % columns];
      } else {
        throw new Error(`${entry.name}: unknown encoding ${entry.encoding}`);
      }
      out[entry.name] = { shape: entry.shape, data };
    }
    return out;
  }

  // ---- Chapter 1 (capsnet_book.equivariance) ----

  /** (before, after) padding of one axis so the output has ceil(n / stride) entries (TensorFlow's "SAME"). */
  function samePadding(n, k, stride) {
    const nOut = Math.ceil(n / stride);
    const total = Math.max((nOut - 1) * stride + k - n, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  }

  /** equivariance.cross_correlate2d: [H, W] * [kh, kw] -> [H', W'], padding "valid" | "zero" | "circular". */
  function crossCorrelate2d(image, h, w, kernel, kh, kw, padding, stride) {
    stride = stride || 1;
    let rows, cols, top = 0, left = 0;
    if (padding === "valid") {
      rows = Math.floor((h - kh) / stride) + 1;
      cols = Math.floor((w - kw) / stride) + 1;
    } else if (padding === "zero" || padding === "circular") {
      rows = Math.ceil(h / stride);
      cols = Math.ceil(w / stride);
      top = samePadding(h, kh, stride)[0];
      left = samePadding(w, kw, stride)[0];
    } else {
      throw new Error(`unknown padding ${padding}`);
    }
    const out = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        let sum = 0;
        for (let u = 0; u < kh; u++) {
          let r = i * stride + u - top;
          if (r < 0 || r >= h) {
            if (padding !== "circular") continue;
            r = ((r % h) + h) % h;
          }
          for (let v = 0; v < kw; v++) {
            let c = j * stride + v - left;
            if (c < 0 || c >= w) {
              if (padding !== "circular") continue;
              c = ((c % w) + w) % w;
            }
            sum += kernel[u * kw + v] * image[r * w + c];
          }
        }
        out[i * cols + j] = sum;
      }
    }
    return { data: out, h: rows, w: cols };
  }

  /** equivariance.shift: content down by dy, right by dx; "circular" wraps, "zero" fills with 0. */
  function shift(image, h, w, dy, dx, mode) {
    const out = new Float64Array(h * w);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        let sr = r - dy, sc = c - dx;
        if (mode === "circular") {
          sr = ((sr % h) + h) % h;
          sc = ((sc % w) + w) % w;
        } else if (sr < 0 || sr >= h || sc < 0 || sc >= w) {
          continue;
        }
        out[r * w + c] = image[sr * w + sc];
      }
    }
    return out;
  }

  const BLUR3 = [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16);
  const DOWNSAMPLINGS = ["none", "stride2", "maxpool", "blurpool"];

  /** demos.pipeline: a convolution, then "none" | "stride2" | "maxpool" | "blurpool". */
  function pipeline(image, h, w, kernel, kh, kw, padding, downsampling) {
    if (!DOWNSAMPLINGS.includes(downsampling)) throw new Error(`unknown downsampling ${downsampling}`);
    if (downsampling === "stride2") return crossCorrelate2d(image, h, w, kernel, kh, kw, padding, 2);
    const y = crossCorrelate2d(image, h, w, kernel, kh, kw, padding, 1);
    if (downsampling === "none") return y;
    if (downsampling === "maxpool") {
      const rows = Math.floor(y.h / 2), cols = Math.floor(y.w / 2);
      const out = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          const a = 2 * i * y.w + 2 * j;
          out[i * cols + j] = Math.max(y.data[a], y.data[a + 1], y.data[a + y.w], y.data[a + y.w + 1]);
        }
      }
      return { data: out, h: rows, w: cols };
    }
    // Dense 2x2 max reaching one pixel down and right (wrapped, or zeros past the edge), then the blur.
    const dense = new Float64Array(y.h * y.w);
    const at = (r, c) => {
      if (r >= y.h || c >= y.w) {
        if (padding !== "circular") return 0;
        r %= y.h;
        c %= y.w;
      }
      return y.data[r * y.w + c];
    };
    for (let r = 0; r < y.h; r++) {
      for (let c = 0; c < y.w; c++) dense[r * y.w + c] = Math.max(at(r, c), at(r + 1, c), at(r, c + 1), at(r + 1, c + 1));
    }
    return crossCorrelate2d(dense, y.h, y.w, BLUR3, 3, 3, padding, 2);
  }

  /** numpy.fft.fftfreq(n)[k]: the frequency of DFT bin k in cycles per sample. */
  function fftFrequency(k, n) {
    return (k < Math.ceil(n / 2) ? k : k - n) / n;
  }

  /** sampling.fourier_shift along one axis of a complex [h, w] array (re, im), in place:
   * the DFT of each line times exp(-2 pi i f d), transformed back. */
  function fourierShiftAxis(re, im, h, w, d, axis) {
    const n = axis === 0 ? h : w, lines = axis === 0 ? w : h;
    const at = (line, k) => (axis === 0 ? k * w + line : line * w + k);
    const fr = new Float64Array(n), fi = new Float64Array(n);
    for (let line = 0; line < lines; line++) {
      for (let k = 0; k < n; k++) {  // forward DFT, then the phase of a shift by d
        let sr = 0, si = 0;
        for (let t = 0; t < n; t++) {
          const a = (-2 * Math.PI * k * t) / n, xr = re[at(line, t)], xi = im[at(line, t)];
          sr += xr * Math.cos(a) - xi * Math.sin(a);
          si += xr * Math.sin(a) + xi * Math.cos(a);
        }
        const p = -2 * Math.PI * fftFrequency(k, n) * d;
        fr[k] = sr * Math.cos(p) - si * Math.sin(p);
        fi[k] = sr * Math.sin(p) + si * Math.cos(p);
      }
      for (let t = 0; t < n; t++) {  // inverse DFT
        let sr = 0, si = 0;
        for (let k = 0; k < n; k++) {
          const a = (2 * Math.PI * k * t) / n;
          sr += fr[k] * Math.cos(a) - fi[k] * Math.sin(a);
          si += fr[k] * Math.sin(a) + fi[k] * Math.cos(a);
        }
        re[at(line, t)] = sr / n;
        im[at(line, t)] = si / n;
      }
    }
  }

  /** sampling.fourier_shift: a circular, band-limited shift of an [h, w] image by any real (dy, dx);
   * the real part is kept (a half-pixel shift of an even axis zeroes its Nyquist component). */
  function fourierShift(image, h, w, dy, dx) {
    const re = Float64Array.from(image), im = new Float64Array(h * w);
    fourierShiftAxis(re, im, h, w, dy, 0);
    fourierShiftAxis(re, im, h, w, dx, 1);
    return re;
  }

  /** demos.pipeline_error: relative equivariance error and the output shift compared with. */
  function pipelineError(image, h, w, kernel, kh, kw, dy, dx, padding, downsampling) {
    const mode = padding === "circular" ? "circular" : "zero";
    const moved = pipeline(shift(image, h, w, dy, dx, mode), h, w, kernel, kh, kw, padding, downsampling);
    const plain = pipeline(image, h, w, kernel, kh, kw, padding, downsampling);
    let scale = 0;
    for (const v of plain.data) scale = Math.max(scale, Math.abs(v));
    const halves = (d) => [...new Set([Math.floor(d / 2), Math.ceil(d / 2)])].sort((a, b) => a - b);
    // Halved and circular: chapter 1's reference, the output moved by half the shift (a half-pixel,
    // band-limited shift when the shift is odd). Halved with zero padding: the nearer whole pixels.
    const halfPixel = downsampling !== "none" && padding === "circular";
    const candidates = [];
    if (downsampling === "none") candidates.push([dy, dx]);
    else if (halfPixel) candidates.push([dy / 2, dx / 2]);
    else for (const oy of halves(dy)) for (const ox of halves(dx)) candidates.push([oy, ox]);
    let best = null;
    for (const [oy, ox] of candidates) {
      const expected = halfPixel ? fourierShift(plain.data, plain.h, plain.w, oy, ox)
                                 : shift(plain.data, plain.h, plain.w, oy, ox, mode);
      const difference = new Float64Array(expected.length);
      let largest = 0;
      for (let i = 0; i < expected.length; i++) {
        difference[i] = Math.abs(moved.data[i] - expected[i]);
        largest = Math.max(largest, difference[i]);
      }
      const error = scale > 0 ? largest / scale : largest;
      if (best === null || error < best.error) {
        best = { error, outputShift: [oy, ox], moved, expected: { data: expected, h: plain.h, w: plain.w },
                 difference: { data: difference, h: plain.h, w: plain.w } };
      }
    }
    return best;
  }

  // ---- Chapter 3 (capsnet_book.transforms, keras layers) ----

  /** transforms.pad_to_canvas: an [h, w] image in the centre of a size x size canvas of zeros. */
  function padToCanvas(image, h, w, size) {
    const out = new Float64Array(size * size);
    const top = Math.floor((size - h) / 2), left = Math.floor((size - w) / 2);
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) out[(r + top) * size + c + left] = image[r * w + c];
    return out;
  }

  /** transforms.rotate: about the centre, counter-clockwise on screen, bilinear, zero fill. */
  function rotate(image, h, w, degrees) {
    const theta = (degrees * Math.PI) / 180;
    const cos = Math.cos(theta), sin = Math.sin(theta);
    // The inverse of [[cos, -sin], [sin, cos]] (rows: y, x) is its transpose.
    const a = [[cos, sin], [-sin, cos]];
    const cy = (h - 1) / 2, cx = (w - 1) / 2;
    const offR = cy - (a[0][0] * cy + a[0][1] * cx), offC = cx - (a[1][0] * cy + a[1][1] * cx);
    const read = (r, c) => (r >= 0 && r < h && c >= 0 && c < w ? image[r * w + c] : 0);
    const out = new Float64Array(h * w);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const sr = a[0][0] * r + a[0][1] * c + offR, sc = a[1][0] * r + a[1][1] * c + offC;
        const r0 = Math.floor(sr), c0 = Math.floor(sc), fr = sr - r0, fc = sc - c0;
        out[r * w + c] = read(r0, c0) * (1 - fr) * (1 - fc) + read(r0, c0 + 1) * (1 - fr) * fc
          + read(r0 + 1, c0) * fr * (1 - fc) + read(r0 + 1, c0 + 1) * fr * fc;
      }
    }
    return out;
  }

  /** keras.layers.Conv2D(padding="valid", activation="relu"): [H, W, C] -> [H-kh+1, W-kw+1, F]. */
  function conv2dValidRelu(x, h, w, c, kernel, kh, kw, f, bias) {
    const rows = h - kh + 1, cols = w - kw + 1;
    const out = new Float64Array(rows * cols * f);
    const acc = new Float64Array(f);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        acc.set(bias);
        for (let u = 0; u < kh; u++) {
          for (let v = 0; v < kw; v++) {
            const xBase = ((i + u) * w + (j + v)) * c;
            const kBase = (u * kw + v) * c * f;
            for (let ch = 0; ch < c; ch++) {
              const value = x[xBase + ch];
              if (value === 0) continue;
              const k = kBase + ch * f;
              for (let o = 0; o < f; o++) acc[o] += value * kernel[k + o];
            }
          }
        }
        const base = (i * cols + j) * f;
        for (let o = 0; o < f; o++) out[base + o] = acc[o] > 0 ? acc[o] : 0;
      }
    }
    return { data: out, h: rows, w: cols, c: f };
  }

  /** keras.layers.MaxPooling2D(2): 2x2 windows, stride 2, "valid". [H, W, C] -> [H/2, W/2, C] (floor). */
  function maxPool2(x, h, w, c) {
    const rows = Math.floor(h / 2), cols = Math.floor(w / 2);
    const out = new Float64Array(rows * cols * c);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        for (let ch = 0; ch < c; ch++) {
          const at = (r, q) => x[(r * w + q) * c + ch];
          out[(i * cols + j) * c + ch] = Math.max(at(2 * i, 2 * j), at(2 * i, 2 * j + 1), at(2 * i + 1, 2 * j),
            at(2 * i + 1, 2 * j + 1));
        }
      }
    }
    return { data: out, h: rows, w: cols, c };
  }

  /** keras.layers.Dense: x [n_in] @ kernel [n_in, n_out] + bias, then "relu" | "sigmoid" | "linear". */
  function dense(x, kernel, bias, activation) {
    const nOut = bias.length;
    const out = Float64Array.from(bias);
    for (let i = 0; i < x.length; i++) {
      const value = x[i];
      if (value === 0) continue;
      const row = i * nOut;
      for (let o = 0; o < nOut; o++) out[o] += value * kernel[row + o];
    }
    if (activation === "relu") for (let o = 0; o < nOut; o++) out[o] = out[o] > 0 ? out[o] : 0;
    else if (activation === "sigmoid") for (let o = 0; o < nOut; o++) out[o] = 1 / (1 + Math.exp(-out[o]));
    return out;
  }

  function softmax(logits) {
    const top = Math.max(...logits);
    const e = Array.from(logits, (v) => Math.exp(v - top));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  }

  /** capsules.squash: s * |s|^2 / (1 + |s|^2) / |s|, the length of the result is below 1. */
  function squash(s) {
    const n2 = s.reduce((a, v) => a + v * v, 0);
    const factor = n2 / (1 + n2) / Math.sqrt(n2 + 1e-7);
    return Array.from(s, (v) => v * factor);
  }

  return {
    BLUR3, DOWNSAMPLINGS, base64Bytes, conv2dValidRelu, crossCorrelate2d, decodeArrays, dense, halfToFloat,
    fourierShift, maxPool2, padToCanvas, pipeline, pipelineError, rotate, samePadding, shift, softmax, squash,
  };
});
