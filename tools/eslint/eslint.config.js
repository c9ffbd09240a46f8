// ESLint flat config for the page (src/seeing/web): plain ES modules in the browser, workers included.
// Run from the repository root: tools/eslint/node_modules/.bin/eslint -c tools/eslint/eslint.config.js src/seeing/web
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["src/seeing/web/**/*.js"],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: "module",
      globals: { ...globals.browser, ...globals.worker },
    },
    rules: {
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }],
      eqeqeq: ["error", "smart"],
      "prefer-const": "error",
      "no-var": "error",
    },
  },
];
