import { describe, expect, it } from "vitest";
import {
  addQuantities,
  compareQuantity,
  formatBytes,
  formatMilli,
  formatQuantity,
  isValidQuantity,
  parseQuantity,
  QuantityError,
  toBytes,
  toMilli,
  value,
} from "../../src/api/quantity.js";
import { parseCpuMillicores } from "../../src/config/quantity.js";

describe("parseQuantity and conversions", () => {
  it.each([
    ["500m", 500, 1],
    ["2", 2000, 2],
    ["1.5", 1500, 2],
    ["0.1", 100, 1],
    ["0.1m", 1, 1],
    ["100k", 100_000_000, 100_000],
    ["1e3", 1_000_000, 1000],
    ["1E3", 1_000_000, 1000],
    ["128Mi", 134_217_728_000, 134_217_728],
    ["1.5Gi", 1_610_612_736_000, 1_610_612_736],
    ["1Ki", 1_024_000, 1024],
    ["1G", 1_000_000_000_000, 1_000_000_000],
    ["0", 0, 0],
    ["+5", 5000, 5],
    ["100n", 1, 1],
  ])("%s -> %d milli, %d units", (text, milli, units) => {
    expect(toMilli(parseQuantity(text))).toBe(milli);
    expect(value(text)).toBe(units);
  });

  it("toBytes is value", () => {
    expect(toBytes("4Gi")).toBe(4 * 1024 ** 3);
    expect(toBytes("512M")).toBe(512_000_000);
  });

  it("parses exactly: 0.1 + 0.2 is 300m, not a float sum", () => {
    expect(formatQuantity(addQuantities("0.1", "0.2"))).toBe("300m");
    expect(compareQuantity(addQuantities("0.1", "0.2"), "300m")).toBe(0);
  });

  it.each(["", "abc", "1.2.3", "5 m", "1Qi", "m", "1e", "--1", "1e99"])("refuses %j", (s) => {
    expect(isValidQuantity(s)).toBe(false);
    expect(() => parseQuantity(s)).toThrow(QuantityError);
  });

  it.each(["1", "-1", "1.", ".5", "5Ei", "1e-3", "12345678901234567890"])("accepts %j", (s) => {
    expect(isValidQuantity(s)).toBe(true);
  });

  it("rejects non-strings in isValidQuantity", () => {
    expect(isValidQuantity(5)).toBe(false);
    expect(isValidQuantity(null)).toBe(false);
  });

  it("keeps the config module's parser working", () => {
    expect(parseCpuMillicores("250m")).toEqual({ ok: true, value: 250 });
  });
});

describe("compareQuantity", () => {
  it.each([
    ["1", "1000m", 0],
    ["1Gi", "1G", 1],
    ["1G", "1Gi", -1],
    ["500m", "0.5", 0],
    ["1e3", "1k", 0],
    ["1Ki", "1024", 0],
    ["-1", "0", -1],
    ["1.5Gi", "1536Mi", 0],
  ] as const)("%s vs %s = %d", (a, b, want) => {
    expect(compareQuantity(a, b)).toBe(want);
  });
});

describe("formatQuantity (Kubernetes' canonical form)", () => {
  it.each([
    ["1.5Gi", "1536Mi"],
    ["1024Mi", "1Gi"],
    ["1000Ki", "1000Ki"],
    ["1536", "1536"],
    ["0.5", "500m"],
    ["1000", "1k"],
    ["1500", "1500"],
    ["1000m", "1"],
    ["1e3", "1e3"],
    ["1.5e3", "1500"],
    ["100k", "100k"],
    ["0.5Gi", "512Mi"],
    ["0", "0"],
    ["0.0000000001", "1n"],
    ["-500m", "-500m"],
    ["5E", "5E"],
    ["512", "512"],
  ])("%s -> %s", (input, want) => {
    expect(formatQuantity(input)).toBe(want);
  });

  it("formats milli and bytes", () => {
    expect(formatMilli(1500)).toBe("1500m");
    expect(formatMilli(2000)).toBe("2");
    expect(formatBytes(134_217_728)).toBe("128Mi");
    expect(formatBytes(1000)).toBe("1k");
  });
});
