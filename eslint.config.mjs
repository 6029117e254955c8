// ESLint flat config: typescript-eslint's recommended rules, Pulumi's own rules, and the few
// project rules from ../shared/STYLE.md.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      ".tools/**",
      ".state/**",
      "bin/**",
      "dist/**",
      "examples/*/node_modules/**",
      "tools/**",
      "eslint.config.mjs",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@typescript-eslint/no-explicit-any": "error",
      eqeqeq: ["error", "always"],
      curly: ["error", "all"],
    },
  },
);
