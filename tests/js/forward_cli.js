// Reads requests (JSON) on stdin and prints the figures' JavaScript outputs for them (JSON), for
// tests/test_demos.py, which computes the same with the Python package and Keras and compares.
//   {"conv_shift": [{kernel, padding, downsampling, dy, dx}], "rotate_digit": [{model, index, angle}],
//    "capsule_pose": [{k, steps: [16]}]}
const { loadData, modules } = require("./load_demos.js");

const data = loadData();
const requests = JSON.parse(require("node:fs").readFileSync(0, "utf-8"));
const out = {
  conv_shift: (requests.conv_shift || []).map((r) => {
    const result = modules.conv_shift.compute(data.conv_shift.arrays, r);
    return { error: result.error, output_shift: result.outputShift, moved: Array.from(result.moved.data) };
  }),
  rotate_digit: (requests.rotate_digit || []).map((r) => {
    const arrays = data.rotate_digit.arrays;
    const image = modules.rotate_digit.rotatedCanvas(arrays, r.index, r.angle);
    return { image: Array.from(image), logits: Array.from(modules.rotate_digit.logits(arrays, r.model, image)) };
  }),
  capsule_pose: (requests.capsule_pose || []).map((r) => {
    const arrays = data.capsule_pose.arrays;
    const capsule = modules.capsule_pose.moved(arrays, r.k, r.steps);
    return { capsule, image: Array.from(modules.capsule_pose.reconstruct(arrays, r.k, capsule)) };
  }),
};
process.stdout.write(JSON.stringify(out));
