/* Chapter 6's interactive figure: the 16 dimensions of a digit capsule, one slider each, drive the
 * chapter's trained decoder (the paper's figure 4, moved by hand).
 *
 * reconstruct() is CapsNet.decode with the true class's mask: the capsule [16] goes into the rows of
 * the first dense layer that belong to its class (the masked input is [10 x 16], zeros elsewhere),
 * then dense 256 (ReLU) -> dense 512 (ReLU) -> dense 784 (sigmoid) = a 28x28 image.
 */
(function (root, factory) {
  const isNode = typeof module === "object" && module.exports;
  const api = factory(isNode ? require("./capsdemo_nn.js") : root.CapsDemoNN);
  if (isNode) module.exports = api;
  else root.CapsDemoUI.register("capsule_pose", api.mount);
})(typeof self !== "undefined" ? self : this, function (nn) {
  "use strict";

  /** The decoder's image [784] for the capsule `capsule` [16] of class `k`. */
  function reconstruct(arrays, k, capsule) {
    const dim = capsule.length;
    const masked = new Float64Array(arrays["decoder/0/kernel"].shape[0]);
    masked.set(capsule, k * dim);
    let x = masked;
    for (let i = 0; i < 3; i++) {
      x = nn.dense(x, arrays[`decoder/${i}/kernel`].data, arrays[`decoder/${i}/bias`].data, i < 2 ? "relu" : "sigmoid");
    }
    return x;
  }

  /** Class k's capsule [16] moved by `steps` [16] standard deviations of each dimension. */
  function moved(arrays, k, steps) {
    const dim = arrays.spread.shape[0];
    return Array.from({ length: dim }, (_, d) => arrays.capsules.data[k * dim + d] + steps[d] * arrays.spread.data[d]);
  }

  const LABELS = {
    en: {
      digit: "Digit (a test image the network is sure of)", input: "test image", output: "reconstruction",
      dimension: (d, rank) => `dimension ${d} (${rank})`, reset: "Back to the capsule as it is",
      readout: (k, l) => `Capsule of class ${k}, length ${l}.`, rank: ["1st", "2nd", "3rd"],
    },
    ko: {
      digit: "숫자 (네트워크가 확신하는 테스트 이미지)", input: "테스트 이미지", output: "재구성",
      dimension: (d, rank) => `차원 ${d} (${rank})`, reset: "원래 캡슐로 되돌리기",
      readout: (k, l) => `클래스 ${k}의 캡슐, 길이 ${l}.`, rank: [],
    },
  };
  const ordinal = (text, lang, i) => (lang === "ko" ? `${i + 1}위` : text.rank[i] || `${i + 1}th`);

  function mount(stage, record, lang) {
    const ui = self.CapsDemoUI;
    const text = LABELS[lang];
    const arrays = nn.decodeArrays(record);
    const dim = arrays.spread.shape[0];
    const state = { k: record.meta.default_class, steps: new Array(dim).fill(0) };
    const input = ui.panel(text.input, 140), output = ui.panel(text.output, 140);
    const readout = ui.el("p", { class: "capsdemo-readout", "aria-live": "polite" });
    const sliders = [];
    const list = ui.el("div", { class: "capsdemo-sliders" });
    const redraw = () => {
      const capsule = moved(arrays, state.k, state.steps);
      ui.drawMap(input.canvas, arrays.digits.data.subarray(state.k * 784, (state.k + 1) * 784), 28, 28, "gray_r", 1);
      ui.drawMap(output.canvas, reconstruct(arrays, state.k, capsule), 28, 28, "gray_r", 1);
      readout.textContent = text.readout(state.k, Math.hypot(...capsule).toFixed(2));
    };
    const layout = () => {  // sliders in the order of influence for this digit, as the chapter's figure
      list.replaceChildren();
      sliders.length = 0;
      record.meta.order[state.k].forEach((d, rank) => {
        const s = ui.slider(text.dimension(d, ordinal(text, lang, rank)), -2, 2, 0.1, 0,
                            (v) => `${v >= 0 ? "+" : ""}${v.toFixed(1)} σ`, (v) => { state.steps[d] = v; redraw(); });
        s.input.dataset.dimension = String(d);
        sliders.push(s);
        list.append(s.node);
      });
    };
    const digits = ui.choice(text.digit, Array.from({ length: 10 }, (_, k) => [String(k), String(k)]), String(state.k),
                             (v) => { state.k = Number(v); state.steps.fill(0); layout(); redraw(); });
    const reset = ui.el("button", { type: "button", class: "capsdemo-reset", text: text.reset,
                                    onclick: () => { state.steps.fill(0); sliders.forEach((s) => s.set(0)); redraw(); } });
    layout();
    stage.append(ui.el("div", { class: "capsdemo-controls" }, [digits, reset]),
                 ui.el("div", { class: "capsdemo-panels" }, [input.node, output.node, list]), readout);
    redraw();
  }

  return { mount, moved, reconstruct };
});
