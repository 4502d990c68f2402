// The config module's public surface: types, validation, loading, quantities.

export * from "./types.js";
export * from "./quantity.js";
export * from "./validate.js";
export * from "./load.js";
