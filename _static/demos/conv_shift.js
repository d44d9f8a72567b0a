/* Chapter 1's interactive figure: shift a digit and watch the feature map shift with it.
 *
 * compute() is demos.pipeline_error of the companion package: convolution with circular or zero
 * padding, then optionally a stride of 2, 2x2 max pooling, or max pooling with blur pooling; the
 * relative equivariance error max |f(shift(x)) - shift'(f(x))| / max |f(x)|; when the output is
 * halved, shift' moves it by half the input's shift (a band-limited half-pixel shift for odd shifts
 * with circular padding, as chapter 1 measures; the nearer whole pixel with zero padding).
 */
(function (root, factory) {
  const isNode = typeof module === "object" && module.exports;
  const api = factory(isNode ? require("./capsdemo_nn.js") : root.CapsDemoNN);
  if (isNode) module.exports = api;
  else root.CapsDemoUI.register("conv_shift", api.mount);
})(typeof self !== "undefined" ? self : this, function (nn) {
  "use strict";
  const MAX_SHIFT = 6;

  function compute(arrays, settings) {
    const digit = arrays.digit;
    const kernel = arrays[`kernel_${settings.kernel}`];
    const [h, w] = digit.shape, [kh, kw] = kernel.shape;
    return nn.pipelineError(digit.data, h, w, kernel.data, kh, kw, settings.dy, settings.dx, settings.padding,
                            settings.downsampling);
  }

  const LABELS = {
    en: {
      kernel: "Kernel", random: "random (the chapter's)", blur: "blur (binomial)", edge: "vertical edge",
      padding: "Padding", circular: "circular", zero: "zero",
      downsampling: "After the convolution", none: "nothing (stride 1)", stride2: "stride 2",
      maxpool: "2×2 max pooling", blurpool: "max pooling + blur pooling",
      dy: "shift down dy (px)", dx: "shift right dx (px)",
      input: "shifted input", moved: "f(shift(x))", expected: "shift(f(x))", difference: "|difference|",
      error: (e, o) => `Relative equivariance error ${e}, compared with the feature map shifted by (${o[0]}, ${o[1]}).`,
      keys: "Arrow keys on the pictures move the digit.",
    },
    ko: {
      kernel: "커널", random: "무작위 (이 장의 커널)", blur: "블러 (이항)", edge: "세로 경계",
      padding: "패딩", circular: "순환 패딩", zero: "제로 패딩",
      downsampling: "합성곱 다음", none: "없음 (스트라이드 1)", stride2: "스트라이드 2",
      maxpool: "2×2 최대 풀링", blurpool: "최대 풀링 + 블러 풀링",
      dy: "아래로 이동 dy (px)", dx: "오른쪽으로 이동 dx (px)",
      input: "이동한 입력", moved: "f(shift(x))", expected: "shift(f(x))", difference: "|차이|",
      error: (e, o) => `상대 등변성 오차 ${e}. 비교한 특성 맵 이동: (${o[0]}, ${o[1]}).`,
      keys: "그림 위에서 화살표 키로 숫자를 옮길 수 있습니다.",
    },
  };

  function mount(stage, record, lang) {
    const ui = self.CapsDemoUI;
    const text = LABELS[lang];
    const arrays = nn.decodeArrays(record);
    const state = { kernel: "random", padding: "circular", downsampling: "none", dy: 0, dx: 0 };
    const panels = ["input", "moved", "expected", "difference"].map((key) => ui.panel(text[key], 128));
    const readout = ui.el("p", { class: "capsdemo-readout", "aria-live": "polite" });
    const redraw = () => {
      const result = compute(arrays, state);
      const [h, w] = arrays.digit.shape;
      ui.drawMap(panels[0].canvas, nn.shift(arrays.digit.data, h, w, state.dy, state.dx,
                                            state.padding === "circular" ? "circular" : "zero"), h, w, "gray", 1);
      let limit = 0;
      for (const v of result.expected.data) limit = Math.max(limit, Math.abs(v));
      for (const [index, map] of [[1, result.moved], [2, result.expected], [3, result.difference]]) {
        ui.drawMap(panels[index].canvas, map.data, map.h, map.w, "signed", limit);
      }
      const shown = result.error < 1e-12 ? "0" : result.error.toFixed(3);
      readout.textContent = text.error(shown, result.outputShift);
      stage.dataset.error = String(result.error);
    };
    const format = (v) => (v > 0 ? `+${v}` : String(v));
    const dy = ui.slider(text.dy, -MAX_SHIFT, MAX_SHIFT, 1, 0, format, (v) => { state.dy = v; redraw(); });
    const dx = ui.slider(text.dx, -MAX_SHIFT, MAX_SHIFT, 1, 0, format, (v) => { state.dx = v; redraw(); });
    const choose = (key, options) => ui.choice(text[key], options.map((o) => [o, text[o]]), state[key],
                                               (v) => { state[key] = v; redraw(); });
    const pictures = ui.el("div", { class: "capsdemo-panels", tabindex: "0", "aria-label": text.keys },
                           panels.map((p) => p.node));
    pictures.addEventListener("keydown", (event) => {
      const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      const move = moves[event.key];
      if (!move) return;
      event.preventDefault();
      event.stopPropagation();  // in a reveal.js deck the arrow keys would change the slide
      state.dy = Math.max(-MAX_SHIFT, Math.min(MAX_SHIFT, state.dy + move[0]));
      state.dx = Math.max(-MAX_SHIFT, Math.min(MAX_SHIFT, state.dx + move[1]));
      dy.set(state.dy);
      dx.set(state.dx);
      redraw();
    });
    stage.append(
      ui.el("div", { class: "capsdemo-controls" }, [
        choose("kernel", record.meta.kernels), choose("padding", ["circular", "zero"]),
        choose("downsampling", nn.DOWNSAMPLINGS), dy.node, dx.node,
      ]),
      pictures, readout, ui.el("p", { class: "capsdemo-hint", text: text.keys }));
    redraw();
  }

  return { MAX_SHIFT, compute, mount };
});
