/** The spec lives in the contract between the program and the runner (components/contract/spec.ts). */
export * from "../contract/spec";
