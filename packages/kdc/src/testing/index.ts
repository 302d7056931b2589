export { startTestKdc, krb5ConfText } from './test-kdc.js';
export type { TestKdc, TestKdcOptions, TestPrincipalSpec } from './test-kdc.js';
export { buildAsReq, buildTgsReq, openAsRep, openTgsRep } from './requests.js';
export type { AsReqSpec, TgsReqSpec, OpenedRep } from './requests.js';
export { derMutator, rng } from './mutate.js';
