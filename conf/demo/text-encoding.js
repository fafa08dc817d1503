// text-encoding.js: stands in for the npm package text-encoding-shim, which
// the SDK imports and which has no ES module build. Browsers have both
// classes natively, which is all the shim would hand back.
export const TextEncoder = globalThis.TextEncoder
export const TextDecoder = globalThis.TextDecoder
export default { TextEncoder, TextDecoder }
