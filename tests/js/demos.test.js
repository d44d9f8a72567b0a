// Unit tests of the figures' forward passes: node --test tests/js/demos.test.js
// (Checked against the Python package and Keras on the exported weights by tests/test_demos.py.)
const test = require("node:test");
const assert = require("node:assert/strict");
const { loadData, modules, nn } = require("./load_demos.js");

const close = (a, b, tol, what) => {
  assert.equal(a.length, b.length, `${what}: length ${a.length} != ${b.length}`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} != ${b[i]}`);
};

test("float16 decoding: exact values, subnormals, signs", () => {
  assert.equal(nn.halfToFloat(0x3c00), 1);
  assert.equal(nn.halfToFloat(0xc000), -2);
  assert.equal(nn.halfToFloat(0x3555), 0.333251953125);
  assert.equal(nn.halfToFloat(0x0001), Math.pow(2, -24));
  assert.equal(nn.halfToFloat(0x7c00), Infinity);
});

test("decodeArrays reads float16 blocks and int8 columns times their scales", () => {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt16LE(0x3c00, 0); // 1.0
  bytes.writeUInt16LE(0xc000, 2); // -2.0
  bytes.writeInt8(127, 4); bytes.writeInt8(-1, 5); bytes.writeInt8(2, 6); bytes.writeInt8(0, 7); // [[127, -1], [2, 0]]
  bytes.writeFloatLE(0.5, 8); bytes.writeFloatLE(2, 12);
  const record = { payload: bytes.toString("base64"), header: { bytes: 16, arrays: [
    { name: "b", shape: [2], encoding: "float16", offset: 0 },
    { name: "w", shape: [2, 2], encoding: "int8", offset: 4, scale_offset: 8 }] } };
  const arrays = nn.decodeArrays(record);
  assert.deepEqual(Array.from(arrays.b.data), [1, -2]);
  assert.deepEqual(Array.from(arrays.w.data), [63.5, -2, 1, 0]);
  assert.throws(() => nn.decodeArrays({ ...record, header: { ...record.header, bytes: 20 } }), /payload has 16 bytes/);
});

test("cross-correlation: chapter 1's toy example by hand (every entry -5)", () => {
  const image = Float64Array.from({ length: 16 }, (_, i) => i);
  const out = nn.crossCorrelate2d(image, 4, 4, [1, 0, 0, -1], 2, 2, "valid", 1);
  assert.equal(out.h, 3);
  assert.deepEqual(Array.from(out.data), new Array(9).fill(-5));
  assert.deepEqual(nn.samePadding(28, 3, 2), [0, 1]);
});

test("circular padding commutes with every shift; halving it, with every even shift", () => {
  const image = Float64Array.from({ length: 12 * 12 }, (_, i) => Math.sin(i * 1.7) + (i % 5));
  const kernel = Float64Array.from({ length: 9 }, (_, i) => Math.cos(i * 2.3));
  for (const downsampling of nn.DOWNSAMPLINGS) {
    const even = nn.pipelineError(image, 12, 12, kernel, 3, 3, 2, -4, "circular", downsampling);
    assert.ok(even.error < 1e-12, `${downsampling}: even shift error ${even.error}`);
  }
  assert.ok(nn.pipelineError(image, 12, 12, kernel, 3, 3, 3, 1, "circular", "none").error < 1e-12);
  assert.ok(nn.pipelineError(image, 12, 12, kernel, 3, 3, 1, 0, "circular", "stride2").error > 0.05, "odd shift, stride 2");
  assert.ok(nn.pipelineError(image, 12, 12, kernel, 3, 3, 1, 0, "zero", "none").error > 0.01, "zero padding, border");
});

test("Fourier shift: whole shifts are circular rolls, two half shifts make one, a cosine moves exactly", () => {
  const image = Float64Array.from({ length: 6 * 8 }, (_, i) => Math.sin(i * 0.9) + (i % 3));
  close(nn.fourierShift(image, 6, 8, 1, -2), nn.shift(image, 6, 8, 1, -2, "circular"), 1e-12, "whole shift");
  const twice = nn.fourierShift(nn.fourierShift(image, 6, 8, 0.5, 0), 6, 8, 0.5, 0);
  const odd = Float64Array.from({ length: 5 * 7 }, (_, i) => Math.cos(i * 1.3));  // odd sizes: no Nyquist bin
  close(nn.fourierShift(nn.fourierShift(odd, 5, 7, 0.5, 0.5), 5, 7, 0.5, 0.5), nn.shift(odd, 5, 7, 1, 1, "circular"),
        1e-12, "two half shifts, odd sizes");
  const wave = Float64Array.from({ length: 8 * 8 }, (_, i) => Math.cos((2 * Math.PI * (i % 8)) / 8));
  const moved = Float64Array.from({ length: 8 * 8 }, (_, i) => Math.cos((2 * Math.PI * ((i % 8) - 0.5)) / 8));
  close(nn.fourierShift(wave, 8, 8, 0, 0.5), moved, 1e-12, "cosine by half a pixel");
  assert.equal(twice.length, image.length);
});

test("rotation: 0 degrees is the identity, 90 degrees is rot90 (counter-clockwise)", () => {
  const image = Float64Array.from({ length: 6 * 6 }, (_, i) => (i * 7) % 11);
  close(nn.rotate(image, 6, 6, 0), image, 0, "rotate 0");
  const turned = nn.rotate(image, 6, 6, 90);
  const rot90 = Float64Array.from({ length: 36 }, (_, i) => image[(i % 6) * 6 + (5 - Math.floor(i / 6))]);
  close(turned, rot90, 1e-9, "rotate 90");
});

test("conv2d, max pooling and dense on hand-checked numbers; squash as in the package", () => {
  const x = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]); // [3, 3, 1]
  // Two filters, kernel layout [kh, kw, c, f]: f0 = x[i,j] - x[i+1,j+1] (ReLU: 0), f1 = x[i,j+1] + x[i+1,j] + 1.
  const y = nn.conv2dValidRelu(x, 3, 3, 1, Float64Array.from([1, 0, 0, 1, 0, 1, -1, 0]), 2, 2, 2, [0, 1]);
  assert.deepEqual([y.h, y.w, y.c], [2, 2, 2]);
  assert.deepEqual(Array.from(y.data), [0, 7, 0, 9, 0, 13, 0, 15]);
  const pooled = nn.maxPool2(Float64Array.from([1, 5, 2, 0, 3, 4, 9, 9, 9]), 3, 3, 1);
  assert.deepEqual(Array.from(pooled.data), [5]);
  assert.deepEqual(Array.from(nn.dense([1, 2], [1, -1, 0.5, 2], [0, 1], "relu")), [2, 4]);
  close(nn.softmax([0, Math.log(3)]), [0.25, 0.75], 1e-12, "softmax");
  close([Math.hypot(...nn.squash([3, 4]))], [0.9615], 1e-4, "squash length");
});

test("the exported figures run: shapes, probabilities, images in [0, 1]", () => {
  const data = loadData();
  assert.deepEqual(Object.keys(data).sort(), ["capsule_pose", "conv_shift", "rotate_digit"]);
  const conv = modules.conv_shift.compute(data.conv_shift.arrays,
    { kernel: "random", padding: "circular", downsampling: "none", dy: 3, dx: -2 });
  assert.ok(conv.error < 1e-12, "circular padding: exact");
  const rotate = data.rotate_digit;
  for (const model of modules.rotate_digit.MODELS) {
    const p = modules.rotate_digit.probabilities(rotate.arrays, model, 0, 30);
    assert.equal(p.length, 10);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    const upright = modules.rotate_digit.probabilities(rotate.arrays, model, 0, 0);
    assert.equal(upright.indexOf(Math.max(...upright)), rotate.meta.labels[0], `${model} names the upright digit`);
  }
  const pose = data.capsule_pose;
  const k = pose.meta.default_class;
  const image = modules.capsule_pose.reconstruct(pose.arrays, k, modules.capsule_pose.moved(pose.arrays, k, new Array(16).fill(0)));
  assert.equal(image.length, 784);
  assert.ok(image.every((v) => v >= 0 && v <= 1));
  const pushed = modules.capsule_pose.reconstruct(pose.arrays, k,
    modules.capsule_pose.moved(pose.arrays, k, Array.from({ length: 16 }, (_, d) => (d === pose.meta.order[k][0] ? 2 : 0))));
  assert.ok(pushed.some((v, i) => Math.abs(v - image[i]) > 0.05), "the most influential dimension changes the drawing");
});
