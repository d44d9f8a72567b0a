// Loads the figures' modules and data files as the site does, for node --test and forward_cli.js.
const path = require("node:path");
const fs = require("node:fs");

const STATIC = path.resolve(__dirname, "..", "..", "_static", "demos");
const nn = require(path.join(STATIC, "capsdemo_nn.js"));
const modules = {
  conv_shift: require(path.join(STATIC, "conv_shift.js")),
  rotate_digit: require(path.join(STATIC, "rotate_digit.js")),
  capsule_pose: require(path.join(STATIC, "capsule_pose.js")),
};

/** {name: {meta, arrays}} of every data file under _static/demos/data/. */
function loadData() {
  const dir = path.join(STATIC, "data");
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".js"))) require(path.join(dir, file));
  const out = {};
  for (const [name, record] of Object.entries(globalThis.CapsDemoData || {})) {
    out[name] = { meta: record.meta, arrays: nn.decodeArrays(record) };
  }
  return out;
}

module.exports = { STATIC, loadData, modules, nn };
