export * from './ed25519.js'
export * from './keys.js'
export * from './record-sign.js'
export * from './strict.js'
