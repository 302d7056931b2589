/**
 * RFC 3962 Appendix B, "Sample Test Vectors": PBKDF2-HMAC-SHA1 string-to-key
 * (PBKDF2 output and the final AES key after DK(tkey, "kerberos")), and
 * AES-128 CBC with ciphertext stealing under the key "chicken teriyaki"
 * with an all-zero IV.
 */
export interface S2kVector {
  iterations: number;
  /** The pass phrase as hex bytes (one of them is the UTF-8 g-clef). */
  password: string;
  /** The salt as hex bytes. */
  salt: string;
  pbkdf2_128: string;
  key128: string;
  pbkdf2_256: string;
  key256: string;
}

const h = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

export const s2kVectors: readonly S2kVector[] = [
  {
    iterations: 1,
    password: h('password'),
    salt: h('ATHENA.MIT.EDUraeburn'),
    pbkdf2_128: 'cdedb5281bb2f801565a1122b2563515',
    key128: '42263c6e89f4fc28b8df68ee09799f15',
    pbkdf2_256: 'cdedb5281bb2f801565a1122b25635150ad1f7a04bb9f3a333ecc0e2e1f70837',
    key256: 'fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161',
  },
  {
    iterations: 2,
    password: h('password'),
    salt: h('ATHENA.MIT.EDUraeburn'),
    pbkdf2_128: '01dbee7f4a9e243e988b62c73cda935d',
    key128: 'c651bf29e2300ac27fa469d693bdda13',
    pbkdf2_256: '01dbee7f4a9e243e988b62c73cda935da05378b93244ec8f48a99e61ad799d86',
    key256: 'a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff',
  },
  {
    iterations: 1200,
    password: h('password'),
    salt: h('ATHENA.MIT.EDUraeburn'),
    pbkdf2_128: '5c08eb61fdf71e4e4ec3cf6ba1f5512b',
    key128: '4c01cd46d632d01e6dbe230a01ed642a',
    pbkdf2_256: '5c08eb61fdf71e4e4ec3cf6ba1f5512ba7e52ddbc5e5142f708a31e2e62b1e13',
    key256: '55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a',
  },
  {
    iterations: 5,
    password: h('password'),
    salt: '1234567878563412',
    pbkdf2_128: 'd1daa78615f287e6a1c8b120d7062a49',
    key128: 'e9b23d52273747dd5c35cb55be619d8e',
    pbkdf2_256: 'd1daa78615f287e6a1c8b120d7062a493f98d203e6be49a6adf4fa574b6e64ee',
    key256: '97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31',
  },
  {
    iterations: 1200,
    password: h('X'.repeat(64)),
    salt: h('pass phrase equals block size'),
    pbkdf2_128: '139c30c0966bc32ba55fdbf212530ac9',
    key128: '59d1bb789a828b1aa54ef9c2883f69ed',
    pbkdf2_256: '139c30c0966bc32ba55fdbf212530ac9c5ec59f1a452f5cc9ad940fea0598ed1',
    key256: '89adee3608db8bc71f1bfbfe459486b05618b70cbae22092534e56c553ba4b34',
  },
  {
    iterations: 1200,
    password: h('X'.repeat(65)),
    salt: h('pass phrase exceeds block size'),
    pbkdf2_128: '9ccad6d468770cd51b10e6a68721be61',
    key128: 'cb8005dc5f90179a7f02104c0018751d',
    pbkdf2_256: '9ccad6d468770cd51b10e6a68721be611a8b4d282601db3b36be9246915ec82a',
    key256: 'd78c5c9cb872a8c9dad4697f0bb5b2d21496c82beb2caeda2112fceea057401b',
  },
  {
    iterations: 50,
    password: 'f09d849e', // g-clef, U+1D11E, in UTF-8
    salt: h('EXAMPLE.COMpianist'),
    pbkdf2_128: '6b9cf26d45455a43a5b8bb276a403b39',
    key128: 'f149c1f2e154a73452d43e7fe62a56e5',
    pbkdf2_256: '6b9cf26d45455a43a5b8bb276a403b39e7fe37a0c41e02c281ff3069e1e94f52',
    key256: '4b6d9839f84406df1f09cc166db4b83c571848b784a3d6bdc346589a3e393f9e',
  },
];

/** The AES-128 key of the CTS vectors: "chicken teriyaki". */
export const ctsKey = '636869636b656e207465726979616b69';

export const ctsVectors: ReadonlyArray<{ input: string; output: string; nextIv: string }> = [
  {
    input: '4920776f756c64206c696b652074686520',
    output: 'c6353568f2bf8cb4d8a580362da7ff7f97',
    nextIv: 'c6353568f2bf8cb4d8a580362da7ff7f',
  },
  {
    input: '4920776f756c64206c696b65207468652047656e6572616c20476175277320',
    output: 'fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5',
    nextIv: 'fc00783e0efdb2c1d445d4c8eff7ed22',
  },
  {
    input: '4920776f756c64206c696b65207468652047656e6572616c2047617527732043',
    output: '39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584',
    nextIv: '39312523a78662d5be7fcbcc98ebf5a8',
  },
  {
    input: '4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c',
    output: '97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7fcbcc98ebf5',
    nextIv: 'b3fffd940c16a18c1b5549d2f838029e',
  },
  {
    input: '4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c20',
    output: '97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd839312523a78662d5be7fcbcc98ebf5a8',
    nextIv: '9dad8bbb96c4cdc03bc103e1a194bbd8',
  },
  {
    input:
      '4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c20616e6420776f6e746f6e20736f75702e',
    output:
      '97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a84807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8',
    nextIv: '4807efe836ee89a526730dbc2f7bc840',
  },
];
