/**
 * RFC 3961 Appendix A.1, n-fold test vectors: input text, output bits,
 * expected result.
 */
export const nfoldVectors: ReadonlyArray<{ input: string; bits: number; out: string }> = [
  { input: '012345', bits: 64, out: 'be072631276b1955' },
  { input: 'password', bits: 56, out: '78a07b6caf85fa' },
  { input: 'Rough Consensus, and Running Code', bits: 64, out: 'bb6ed30870b7f0e0' },
  { input: 'password', bits: 168, out: '59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e' },
  { input: 'MASSACHVSETTS INSTITVTE OF TECHNOLOGY', bits: 192, out: 'db3b0d8f0b061e603282b308a50841229ad798fab9540c1b' },
  { input: 'Q', bits: 168, out: '518a54a215a8452a518a54a215a8452a518a54a215' },
  { input: 'ba', bits: 168, out: 'fb25d531ae8974499f52fd92ea9857c4ba24cf297e' },
  { input: 'kerberos', bits: 64, out: '6b65726265726f73' },
  { input: 'kerberos', bits: 128, out: '6b65726265726f737b9b5b2b93132b93' },
  { input: 'kerberos', bits: 168, out: '8372c236344e5f1550cd0747e15d62ca7a5a3bcea4' },
  { input: 'kerberos', bits: 256, out: '6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4' },
];
