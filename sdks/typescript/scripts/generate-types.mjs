// Generates src/generated/openapi.ts from docs/openapi.json with openapi-typescript (its
// library, with the CLI's defaults), so `npm run generate` and the drift test make the same
// file. Usage: node scripts/generate-types.mjs [output]   (default: src/generated/openapi.ts)
//
// One adjustment: a schema that refers to itself (such as a recursive `JsonValue`) would come
// out as a type alias TypeScript rejects as circular (TS2502), so it is written as `unknown`
// with its description kept; every other schema is exactly what the generator makes of it.
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import openapiTS, { COMMENT_HEADER, astToString } from "openapi-typescript";
import ts from "typescript";

const sdkDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const input = join(sdkDir, "..", "..", "docs", "openapi.json");
const output = process.argv[2] ?? join(sdkDir, "src", "generated", "openapi.ts");

const ast = await openapiTS(pathToFileURL(input), {
  transform(schema, options) {
    const self = options.path;
    if (self?.startsWith("#/components/schemas/") && JSON.stringify(schema).includes(`"$ref":${JSON.stringify(self)}`)) {
      return ts.factory.createKeywordTypeNode(ts.SyntaxKind.UnknownKeyword);
    }
    return undefined;
  },
});
writeFileSync(output, `${COMMENT_HEADER}${astToString(ast)}`);
