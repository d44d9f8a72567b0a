/* Chapter 3's interactive figure: rotate a test digit; bars show the class probabilities of the
 * chapter's baseline CNN and of the CNN trained on rotations of up to 45 degrees.
 *
 * probabilities() is the chapter's pipeline: transforms.pad_to_canvas (40x40), transforms.rotate,
 * then build_baseline_cnn("quick"): conv 32@3x3 (ReLU) -> 2x2 max -> conv 64@3x3 (ReLU) -> 2x2 max
 * -> flatten -> dense 128 (ReLU) -> dense 10 (logits), and a softmax.
 */
(function (root, factory) {
  const isNode = typeof module === "object" && module.exports;
  const api = factory(isNode ? require("./capsdemo_nn.js") : root.CapsDemoNN);
  if (isNode) module.exports = api;
  else root.CapsDemoUI.register("rotate_digit", api.mount);
})(typeof self !== "undefined" ? self : this, function (nn) {
  "use strict";
  const MODELS = ["baseline", "augmented"];

  /** The 40x40 canvas holding test digit `index` rotated by `degrees` (counter-clockwise). */
  function rotatedCanvas(arrays, index, degrees) {
    const [, h, w] = arrays.digits.shape;
    const digit = arrays.digits.data.subarray(index * h * w, (index + 1) * h * w);
    return nn.rotate(nn.padToCanvas(digit, h, w, 40), 40, 40, degrees);
  }

  /** Logits [10] of one model for a 40x40 image. */
  function logits(arrays, model, image) {
    const get = (layer, kind) => arrays[`${model}/${layer}/${kind}`];
    const k1 = get("conv1_1", "kernel"), k2 = get("conv2_1", "kernel");
    let x = nn.conv2dValidRelu(image, 40, 40, 1, k1.data, 3, 3, k1.shape[3], get("conv1_1", "bias").data);
    x = nn.maxPool2(x.data, x.h, x.w, x.c);
    x = nn.conv2dValidRelu(x.data, x.h, x.w, x.c, k2.data, 3, 3, k2.shape[3], get("conv2_1", "bias").data);
    x = nn.maxPool2(x.data, x.h, x.w, x.c);  // flattened row by row, channels last: Keras' Flatten order
    const hidden = nn.dense(x.data, get("dense", "kernel").data, get("dense", "bias").data, "relu");
    return nn.dense(hidden, get("logits", "kernel").data, get("logits", "bias").data, "linear");
  }

  function probabilities(arrays, model, index, degrees) {
    return nn.softmax(logits(arrays, model, rotatedCanvas(arrays, index, degrees)));
  }

  const LABELS = {
    en: {
      digit: "Test digit", angle: "rotation (°, counter-clockwise)", baseline: "baseline CNN",
      augmented: "CNN trained on rotations up to ±45°",
      readout: (a, b) => `Baseline CNN: ${a}. CNN trained with rotations: ${b}.`,
      says: (k, p) => `${k} (${p}%)`,
    },
    ko: {
      digit: "테스트 이미지", angle: "회전 각도 (°, 반시계 방향)", baseline: "일반 CNN",
      augmented: "±45° 회전으로 학습한 CNN",
      readout: (a, b) => `일반 CNN: ${a}. 회전으로 학습한 CNN: ${b}.`,
      says: (k, p) => `${k} (${p}%)`,
    },
  };

  function mount(stage, record, lang) {
    const ui = self.CapsDemoUI;
    const text = LABELS[lang];
    const arrays = nn.decodeArrays(record);
    const state = { index: 0, angle: 0 };
    const picture = ui.panel("", 160);
    const readout = ui.el("p", { class: "capsdemo-readout", "aria-live": "polite" });
    const charts = MODELS.map((model) => {
      const bars = Array.from({ length: 10 }, (_, k) => {
        const fill = ui.el("span", { class: "capsdemo-bar-fill" });
        const value = ui.el("span", { class: "capsdemo-bar-value" });
        return { row: ui.el("div", { class: "capsdemo-bar" }, [ui.el("span", { class: "capsdemo-bar-label", text: String(k) }),
                                                               ui.el("span", { class: "capsdemo-bar-track" }, [fill]), value]),
                 fill, value };
      });
      return { model, bars, node: ui.el("div", { class: "capsdemo-chart" },
                                         [ui.el("div", { class: "capsdemo-chart-title", text: text[model] }), ...bars.map((b) => b.row)]) };
    });
    const redraw = () => {
      ui.drawMap(picture.canvas, rotatedCanvas(arrays, state.index, state.angle), 40, 40, "gray_r", 1);
      const said = [];
      const label = record.meta.labels[state.index];
      for (const chart of charts) {
        const p = probabilities(arrays, chart.model, state.index, state.angle);
        const top = p.indexOf(Math.max(...p));
        chart.bars.forEach((bar, k) => {
          bar.fill.style.width = `${(100 * p[k]).toFixed(1)}%`;
          bar.value.textContent = `${Math.round(100 * p[k])}%`;
          bar.row.classList.toggle("capsdemo-top", k === top);
          bar.row.classList.toggle("capsdemo-true", k === label);
        });
        said.push(text.says(top, Math.round(100 * p[top])));
        stage.dataset[chart.model] = p.map((v) => v.toFixed(4)).join(",");
      }
      readout.textContent = text.readout(...said);
    };
    const digits = ui.choice(text.digit, record.meta.labels.map((k, i) => [String(i), String(k)]), "0",
                             (v) => { state.index = Number(v); redraw(); });
    const angle = ui.slider(text.angle, -180, 180, 1, 0, (v) => `${v}°`, (v) => { state.angle = v; redraw(); });
    stage.append(ui.el("div", { class: "capsdemo-controls" }, [digits, angle.node]),
                 ui.el("div", { class: "capsdemo-panels" }, [picture.node, ...charts.map((c) => c.node)]), readout);
    redraw();
  }

  return { MODELS, logits, mount, probabilities, rotatedCanvas };
});
