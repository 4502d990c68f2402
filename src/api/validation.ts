// Entry point of the validation rules (the rules live in ./validation/):
// validateObject, FieldError and formatFieldErrors for the API server.
export * from "./validation/index.js";
