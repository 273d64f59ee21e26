#include "keywarden/crypto/rsa_oaep.h"

#include <openssl/bio.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace keywarden::crypto {
namespace {

// Known-answer vectors. The key and every ciphertext were made once, outside
// Keywarden, with the OpenSSL 3.0.19 command line and Node 20.20.2 (whose
// crypto module is a separate binding), in a scratch directory:
//
//   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048
//     -pkeyopt rsa_keygen_pubexp:65537 -outform DER -out key1.der
//     (OpenSSL 3.0 writes PKCS#1 RSAPrivateKey for -outform DER)
//   openssl pkcs8 -topk8 -nocrypt -inform DER -in key1.der -outform DER
//     -out key.der                                      -> kKatPrivateKeyPkcs8
//   openssl pkey -inform DER -in key1.der -pubout -out pub.pem
//                                                       -> kKatPublicKeyPem
//   Plaintexts: pt32 = 00112233445566778899aabbccddeeff twice; pt16 = 00..0f;
//   pt190 = byte i is (7i + 3) mod 256, the longest message under a 2048-bit
//   key (256 - 2*32 - 2); pt0 = empty.
//   openssl pkeyutl -encrypt -pubin -inkey pub.pem -in pt32.bin -out ct.bin
//     -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256
//     -pkeyopt rsa_mgf1_md:sha256
//     -> kOpensslPt32; likewise pt16, pt190 and pt0 -> kOpensslPt16,
//        kOpensslPt190, kOpensslEmpty
//   node: fs.writeFileSync('ct.bin', crypto.publicEncrypt({key:
//     fs.readFileSync('pub.pem', 'utf8'), padding:
//     crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256'},
//     fs.readFileSync('pt32.bin')))              -> kNodePt32; pt16 -> kNodePt16
//
// To be rejected, pt32 under other paddings (openssl pkeyutl -encrypt -pubin
// -inkey pub.pem -in pt32.bin with):
//   -pkeyopt rsa_padding_mode:oaep          -> kOaepSha1 (SHA-1 and MGF1-SHA-1,
//                                              Key Protect's RSAES_OAEP_SHA_1)
//   ... oaep, rsa_oaep_md:sha256, rsa_mgf1_md:sha1
//                                           -> kOaepSha256Mgf1Sha1 (what Java's
//                                              OAEPWithSHA-256AndMGF1Padding sends)
//   ... oaep, rsa_oaep_md:sha256, rsa_mgf1_md:sha256,
//       rsa_oaep_label:6b6579776172646e     -> kOaepSha256WithLabel ("keywardn")
//   -pkeyopt rsa_padding_mode:pkcs1         -> kPkcs1v15
// kEcPrivateKeyPkcs8 / kEcPublicKeyPem: openssl genpkey -algorithm EC
// -pkeyopt ec_paramgen_curve:P-256, then openssl pkcs8 -topk8 -nocrypt
// -outform DER and openssl pkey -pubout.
// Every accepted ciphertext was checked to decrypt with openssl pkeyutl
// -decrypt and the same -pkeyopt options; the rejected ones fail there too.

constexpr char kKatPrivateKeyPkcs8[] =
    "308204bc020100300d06092a864886f70d0101010500048204a6308204a20201"
    "000282010100cdd188887ba1aa4d9f6a214a4758c51152b49b60e1af0a25b296"
    "497fdcb53fd59b83cf58c323e7b396252b4f794ef4e09c7b05da33baf127b827"
    "1256d0ba0677e85d844b3302a38d6563640e7906326fcdc29e4069eabf727e2a"
    "97b9057faef3605b0a34b15a6ecb1476011d91a77e20cd2f8b3ace34379d0cb2"
    "4026be3f31f43fe4d7900dde0194963c60d488f60ae96e345e6203f1a7728ab0"
    "89eec661a6c96f5b9d3630361fd11e91e49f1902ced38203b2556f89b4c9c8c3"
    "f1bdb84e5afe060dc911166418813fd2b6a2a89461ed0bcd7af288765006774f"
    "a1953375e416e3320622483c3480d137fc999f45b11d4331571e5b7b4c57ab59"
    "5fd8a77c364902030100010282010011d9be71b7e74991f9e586859eb2804504"
    "5b4dae95644d08fff830dfba10ae3ca484461378b9407b3ee6725f2e323ee2cc"
    "2f8f4e6176313c34a88edaa0b7c19fdcb35fa9f5fea098bed663f32d63f033ea"
    "309af1133e9ce41d352c7b8b928b65e8517d0d1ce4aeff4603060dbe783c6433"
    "e78fb7c5f29970318db42aa80d6b1390071f8f53644e61caabd3a002054a0e86"
    "156f5fd5b43eb43293700607986983787376c070e2a067f2bfff0dd781ebab48"
    "3d0e6121c8d219ef38c654d42573f8c32eeb1a4854e32ddab7d9ab4038c93373"
    "39163bb59885974ca4de0fd8485536867ea79a31f953198228fdb2756f63d9ba"
    "7959de7590feb445d280862ac3021102818100fca1ece4187ebfa38eddbe9890"
    "92ee23d687d2f34cb072e36eaae7e1a662508eb44f8f3d0dbf9dac64e1c90816"
    "2da1e3ae2b9c8b342b3bcd76e3ff9e5c8bec2540f785cd0320167edf738ee7f8"
    "0f5f12286a0b4b9b3714fe167eb12780965e47cffc11a8f727c6657afc737640"
    "9a62e593556127bbb029d8957bba20d12470d702818100d08fdc8263d2d64b6b"
    "485f0b411c7cfba1f1d6ae14ee7ef16a960006a815a04740c51c0790381ddc85"
    "720da29b13017720c144881b92e71dc4df27bc85a1fff3a6a7b992d411962739"
    "056bb027c7c8d5a507da167345929894df970a25cdccd760156ec2bfb76bff5b"
    "2a112e09bba447f9f1be7bf6d53613825fcb2901b50ddf02818062e32b2bf99e"
    "9b7af5303d2bd0e3828dcaaaaddb0878c4efdb60d095562083b1e848802400de"
    "b1644ab4ca90fcc56dea064211ebb746f908aaf2021bc5d40b6265b4bdce0adc"
    "239213fb52c3e0287c294a627ffb5f4d474d5216d357481113e47e3807dda0a9"
    "1412a2fa7063a854064420d0b9cfe8bac3168124c62d944ff44f02818050bd50"
    "b55da5b27611fb3b6824f5bd60c0c9d9bd1cb753876c26d3adc006573d1e52f0"
    "4df143f83375a9b8a3997b1b171e2413bec945ee98f4ad1b39fd55c0bb7769f9"
    "0a6174c97737b8e47e9677de44ef1582152cdce32a947f967e44324eb99625d5"
    "f228bbfe6025cfbc44e159b5f8734765e1a1a5dac064b966f1e20a506b028180"
    "01f8e13d62c54ecab690cae3c8e92e62b8af3aee67c8bdc169ca37c00994f8e0"
    "9445a12a736825a93d927c1d8fc0116f41a9940d77175e297ea210ddffc8cc19"
    "1553678763dc2142c33dcbfe964d12956c2a5411fa5e237a5410855afe8f6ccb"
    "9f57e76445a68d1c05493249cdc38f5d3a7ae62eeb1a4c4bb6284314660401d4";

constexpr char kOpensslPt32[] =
    "5b3a5394f3cdc6b06967bd47a352943ec6b94e78be9f46cb9bfdcf1ddc224be4"
    "60781c13fe07106a91e934dda18db3067a779cb7802f3b203257533f5cf9a384"
    "f643eb5da6193d1616edf4de9a867478a160a383015f25b14920241d9ba318b4"
    "c67159c8807589a6624863f55a0ac242c8594e689c81b3a82dd2b2347ff49f35"
    "501db4bcc127ba8a87a96af5571cc6874c3467df8a8b6b31fcc2834899ec05d0"
    "77a60356e944688e515f2e4bab91eaae96dbcd8398122c3ab7274065b7639a70"
    "3c301e6e3f18db5bbc38e30ba317fdd18f5238c6fe3c12a5d5467b30d95faba6"
    "0854b78d834dedf91a4cc010172d44ca1765fe4131fd7809d2ba3f21f8fe8108";

constexpr char kOpensslPt16[] =
    "a3437b5d27532e772f82b6936a23f22dd2ab5643989e25aa2c3f2654772cce19"
    "1b3db86bb35618a725e8df614a987721dda38b8a17bf22b739572586d39d7e7f"
    "8cc114f1f7be6dca45b4bc446f7109a5c8ab0f398ca2a4ee8f3609c3155fc7b8"
    "93fdb3f13984da125376ad27571fa6a169460e296a4c4a580f86cfb94362cfe0"
    "a634c50b7210846b6362395bc36695e42b005d3bbba8c91cc67265029300786c"
    "da0da313d26ab3a71ef7753149a0ade1a11d1ff1795f359daf54923506ef0643"
    "b92e1bc1a171637324c6040a1fc9fc4d7496fd556a366c7dc00d9e250944c7b2"
    "39d4d410953cee59fffe4e1627c3148c7939d55f49436fe5724ccd4fccfc7852";

constexpr char kOpensslPt190[] =
    "bf60678827b4ce42e26a6a678f19cd7e2da45c1bec9b81e7e3fbaec5bba7311a"
    "c78f650e6b575500943105f02a30175c7a4ccf041002af5de4397c4db7738a31"
    "fa540a98add4b4f1e896ee2aefa9c7c406560713c6abe4bbdd79336d2af9906f"
    "048921a5471ed60835b7a8b983695d90c47e7fb49b6322d3383ed0ce4cfa18f7"
    "9b884da697ab35432c06d78228a65431aea41237a5d023e7ad29b00f5bdca9d5"
    "f08d2388b591b6ea96ac049a449f5c54661ce90ee3a2262bb5ec47f236dadb21"
    "059135fe82fea9a90dc901382cd29a7eca448fd6150e9fb0e072e5bdc44d1a57"
    "d91717c07968d81ef7d4e83f9aedbc1f3842dd7259a9efce0696596483dc835b";

constexpr char kOpensslEmpty[] =
    "6a957f99e0c753db9674fcb4a5a3ed15bd470b4bd1ba1f05de78f998be529f9d"
    "751a026da3680252d5e3dd434b1f3cbd4417fb5cd2539ac6dab1e5a8a110e02b"
    "a2ce2bd46e50fd802bc45e8bf106f74e544643c206ecb44373818c7f16d8047e"
    "34e1231ca07e66397cf09e987aabf5a176eac66e9be05471bb9b85d8d195deba"
    "d65fa741f91425652771b5e46cab6139d58ca205fc5b54a5ccc39b9a6eb47402"
    "4a475e172d9f3590f36237152b3d13579a29dc31f3b2507166077a0ceff028c3"
    "87092f31fa80558fbd31e23b6d09e8daec225387e222a13dafee2a33577519d6"
    "edeb8921122e1fd2030e802591ec09f888c9a7f41fe33d43b771418e90aecff3";

constexpr char kNodePt32[] =
    "b9386ec47c29bc0bfec8f96c1cab27752ddf3b777bebdb896ccedcff44cfc07e"
    "41fdbfdc65d8b90f7aa57d4b49874b737b82399c464eacb17676c3587f13e54c"
    "67adfe948c8402dab3d70ede3b5320c7d96275aea6126b502ea929f4225100ec"
    "44203a2fc31cf5a6c2725ba4a9342587f7ddcd3c808ce84c0912ddfb27ad9887"
    "2ef24de96ea1b2a6c744a3c0ab4020f9131fe02515e160c52b898299339d5f29"
    "390c608302cec1f9e876b9b0ba40bef577fecee3f36f6298624c1a4055a00d68"
    "204f9363d76b2f6cb07cf3221b059cf8c0b4a6ec8744c7a8c86ce2433799c6b0"
    "da35501d7a01cd7f78be8e1c6385422ebea9a8be25c2257699d1fe2cc99bc564";

constexpr char kNodePt16[] =
    "1892bbeaac10cf2ecb37f85606972353941d1ca74918cdcede08a04c922d845b"
    "c6b0092fc5204846442190f710e832d571768c4c970620e8d96b94404e4d5f05"
    "0a8760efb3efd22690e321500af186fd7ff6357c0c76b94902b845286292ad42"
    "d1067e335fa402ac32fc79d15e48f2be25e077bb3fa00bf39e2781b4eef27e32"
    "c009f6f5641ceb6e1f39f96cbb048b02b6192f23e688676d8b232b7f4947a7fb"
    "a50bc1ffd254a9de830988bc0a35276dfa5738c2873642e46706212a312e0d25"
    "b11e104c1d3e4cd2a8aef15226df25fd5d4152aa2f7bb51eb1b3df19c330049d"
    "1463b24ef1a4e13f8d4a25f4788dddadf35367dc4354400d39eea81198c5c06e";

constexpr char kOaepSha1[] =
    "17c2db30f163c780cb5b06b64f6227a7ed12636a05ac98b16057ff9d9a6ceed9"
    "d3ac574ec174bc9ca69b07924f7bb0062a19497e07c0f8f3e2f11664a8c32ddd"
    "616d3fe01ebc0772f12851d74c17d54386586f8767b2cba161e049696186fcf9"
    "dc0c9418280287f56cc61d2bb6688e05ae33b8a37353626ffc6106436ae5c846"
    "ff55786487f49447da0118966f34f275de01a9a01f8f644d9025023e6f5de22b"
    "15e4ae1f7044dc1daf7b62db424f1dd4e344cfcfd7c3ff2f082e6c640d88ab00"
    "ce8f0b9cd1461eb3cb48e6c4db2ed03cff6b11ab262605d14417b08d8957a627"
    "a8f6d7b50a8a4bc8ad3d15a4314aa77491f5d3b662704114b99a37da8fa1773b";

constexpr char kOaepSha256Mgf1Sha1[] =
    "02f47914579555fde3817cc2ed860223eb6a2a8728b0494c6d0b544f5eeb35e2"
    "2fa1b71a53aff40772df998ce9d9a58b9de531731ca6a28b257c5e9e680019dd"
    "d4706b68ceeccfeced1650b7e8760292bfa9176686cc2cfb2af8ef4f3d4046ce"
    "48695b3f6e3afe599ac5ea52c3df0a5fc8a6cc6503a604eb3746219bab0290bb"
    "d17ecb7ec62c3723bda852c961100136a61cf361be7469633faf2d671c27c268"
    "085c22a6906632a4f49bf196ef8181c9c69b784ea2759f3514800c49755be715"
    "093618c3072f801a51c93fbc07698577f5ead839180f61ca059250b6ca0beb19"
    "11231b7c0a129c577f9decf8bb47f54da9c7f914804af2c260563278752d4dfd";

constexpr char kOaepSha256WithLabel[] =
    "8d3577e177b5069a1b621ec43ca53ce720cf6e8e1ef5e7da168cbdab27d39583"
    "82d2f5f7c318b21e1823c873416f60274739ec58892ef6361c05e9f136f49c93"
    "2bbf32d10a6cfd0895f3d714bd253196e4b47da96f40e8cf5a77ffe4d688889b"
    "d65e60d6f67e3e8fc813a530ff9c6f753d1ce633f73f3b7a77b66d3b7f7cea77"
    "6cf0ed3375725e3ff8a3f53a1d8d4707395ccf7f0c0f3943d4c393d460715554"
    "ef623d1fff2c2f157a942c0a0665307e2e1ccf0b8457b6e0990aef120c37249b"
    "0cfc6796fbbf75fb1afead17ff670d0733683a6b727fdf1834ed10785c8dfa83"
    "c92f0ba09af1fdfced74c72a126705f16482e453b330cfd58efe38a5882c8a10";

constexpr char kPkcs1v15[] =
    "ac63f4ed14a34f5d15821eb78f5d4205fda3e189b60a02272eae7aecbda92fe8"
    "e9397c95b885e56d1bf4e1fe807ae32a9c4b3a254b71b2d31c023704e1b9eb9c"
    "a74f33099e6644e89a3db9423081af50f0676201a8624a5101c3e5a153585c86"
    "c9fbf1750d42a96896aa1977a8412872efd8d063d99770aa8ea0b2e531a5ceb7"
    "bc90fa4829e77cecc83bd273aebbf8cfd710b6190bfb6efd0da39a08a37a6417"
    "c1335e0bc4dbab720d3f4b3201f0ea2a7a42fce371b2a9b94be46cb6f2d529e9"
    "bfd46c368ccbe21985df133f96111f4c7cc4a70bc34dcfc3444f8cd73aeb9aaf"
    "8dc023dcaf52d1165d7e417ae828b0bfc8772cee5fe6029f4e51caff4c0e9fff";

constexpr char kEcPrivateKeyPkcs8[] =
    "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b02"
    "0101042098d0ee346c99cddfd54f9b8c4742fef1ccf137b9dd1ce15a3f88e04b"
    "1639feefa1440342000462bbef6f8e89a6c06a4718d9a5e51e53d93e720d93aa"
    "904947bd99148951469ed38e2b9e7d4652d5a9640ccfad77f579e09eb275bde2"
    "13477727b8fa923e6997";

constexpr char kKatPublicKeyPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAzdGIiHuhqk2faiFKR1jF\n"
    "EVK0m2DhrwolspZJf9y1P9Wbg89YwyPns5YlK095TvTgnHsF2jO68Se4JxJW0LoG\n"
    "d+hdhEszAqONZWNkDnkGMm/Nwp5Aaeq/cn4ql7kFf67zYFsKNLFabssUdgEdkad+\n"
    "IM0vizrONDedDLJAJr4/MfQ/5NeQDd4BlJY8YNSI9grpbjReYgPxp3KKsInuxmGm\n"
    "yW9bnTYwNh/RHpHknxkCztOCA7JVb4m0ycjD8b24Tlr+Bg3JERZkGIE/0raiqJRh\n"
    "7QvNevKIdlAGd0+hlTN15BbjMgYiSDw0gNE3/JmfRbEdQzFXHlt7TFerWV/Yp3w2\n"
    "SQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

constexpr char kEcPublicKeyPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYrvvb46JpsBqRxjZpeUeU9k+cg2T\n"
    "qpBJR72ZFIlRRp7TjiuefUZS1alkDM+td/V54J6ydb3iE0d3J7j6kj5plw==\n"
    "-----END PUBLIC KEY-----\n";

std::vector<uint8_t> Hex(std::string_view hex) {
  const std::string bytes =
      absl::HexStringToBytes(absl::string_view(hex.data(), hex.size()));
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

std::vector<uint8_t> ToVector(const SecretBytes& s) {
  return std::vector<uint8_t>(s.span().begin(), s.span().end());
}

std::vector<uint8_t> Pt32() {
  return Hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
}

std::vector<uint8_t> Pt190() {
  std::vector<uint8_t> pt(190);
  for (size_t i = 0; i < pt.size(); ++i) pt[i] = (7 * i + 3) % 256;
  return pt;
}

// Every decryption failure looks the same (rsa_oaep.h), and leaves no
// OpenSSL error behind on the thread.
void ExpectDecryptionFailed(std::span<const uint8_t> key,
                            std::span<const uint8_t> ciphertext,
                            const std::string& what) {
  absl::StatusOr<SecretBytes> r = RsaOaepSha256Decrypt(key, ciphertext);
  ASSERT_FALSE(r.ok()) << what;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << what;
  EXPECT_EQ(r.status().message(), "decryption failed") << what;
  EXPECT_EQ(ERR_peek_error(), 0u) << what;
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

PkeyPtr ReadPublicPem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

PkeyPtr ReadPkcs8(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  PKCS8_PRIV_KEY_INFO* p8 =
      d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size()));
  if (p8 == nullptr || p != der.data() + der.size()) {
    PKCS8_PRIV_KEY_INFO_free(p8);
    return nullptr;
  }
  PkeyPtr key(EVP_PKCS82PKEY(p8));
  PKCS8_PRIV_KEY_INFO_free(p8);
  return key;
}

// Keys are slow to make: one of each size for the whole suite.
const RsaKeyPair& Generated(int bits) {
  static const RsaKeyPair* const k2048 = new RsaKeyPair(*GenerateRsaKeyPair(2048));
  static const RsaKeyPair* const k4096 = new RsaKeyPair(*GenerateRsaKeyPair(4096));
  return bits == 2048 ? *k2048 : *k4096;
}

TEST(RsaOaepTest, DecryptsOpensslCliVectors) {
  const std::vector<uint8_t> key = Hex(kKatPrivateKeyPkcs8);
  struct Case {
    const char* name;
    const char* ciphertext;
    std::vector<uint8_t> plaintext;
  };
  const Case cases[] = {
      {"pt32", kOpensslPt32, Pt32()},
      {"pt16", kOpensslPt16, Hex("000102030405060708090a0b0c0d0e0f")},
      {"pt190 (longest)", kOpensslPt190, Pt190()},
      {"empty", kOpensslEmpty, {}},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SecretBytes> pt = RsaOaepSha256Decrypt(key, Hex(c.ciphertext));
    ASSERT_TRUE(pt.ok()) << c.name << ": " << pt.status();
    EXPECT_EQ(ToVector(*pt), c.plaintext) << c.name;
  }
}

TEST(RsaOaepTest, DecryptsNodePublicEncryptVectors) {
  const std::vector<uint8_t> key = Hex(kKatPrivateKeyPkcs8);
  absl::StatusOr<SecretBytes> pt = RsaOaepSha256Decrypt(key, Hex(kNodePt32));
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(ToVector(*pt), Pt32());
  pt = RsaOaepSha256Decrypt(key, Hex(kNodePt16));
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(ToVector(*pt), Hex("000102030405060708090a0b0c0d0e0f"));
}

TEST(RsaOaepTest, EveryFlippedCiphertextByteFails) {
  const std::vector<uint8_t> key = Hex(kKatPrivateKeyPkcs8);
  const std::vector<uint8_t> ct = Hex(kOpensslPt32);
  ASSERT_EQ(ct.size(), 256u);
  for (size_t i = 0; i < ct.size(); ++i) {
    std::vector<uint8_t> bad = ct;
    bad[i] ^= 0x01;
    ExpectDecryptionFailed(key, bad, "flipped byte " + std::to_string(i));
  }
  // The top byte set: the integer is then at least the modulus (§7.1.2
  // step 2.a, RSADP "ciphertext representative out of range").
  std::vector<uint8_t> big = ct;
  big[0] = 0xff;
  ExpectDecryptionFailed(key, big, "ciphertext >= n");
}

TEST(RsaOaepTest, TruncatedOrExtendedCiphertextFails) {
  const std::vector<uint8_t> key = Hex(kKatPrivateKeyPkcs8);
  const std::vector<uint8_t> ct = Hex(kOpensslPt32);
  ExpectDecryptionFailed(key, {}, "empty");
  ExpectDecryptionFailed(key, std::span(ct).first(255), "last byte cut");
  ExpectDecryptionFailed(key, std::span(ct).subspan(1), "first byte cut");
  ExpectDecryptionFailed(key, std::span(ct).first(128), "half");
  std::vector<uint8_t> longer = ct;
  longer.push_back(0);
  ExpectDecryptionFailed(key, longer, "trailing zero");
  // A leading zero keeps the integer's value; RFC 8017 §7.1.2 step 1.b
  // still wants exactly k octets.
  std::vector<uint8_t> padded = ct;
  padded.insert(padded.begin(), 0);
  ExpectDecryptionFailed(key, padded, "leading zero");
}

TEST(RsaOaepTest, OtherPaddingsAreRejected) {
  const std::vector<uint8_t> key = Hex(kKatPrivateKeyPkcs8);
  ExpectDecryptionFailed(key, Hex(kOaepSha1), "OAEP SHA-1 (RSAES_OAEP_SHA_1)");
  ExpectDecryptionFailed(key, Hex(kOaepSha256Mgf1Sha1), "OAEP SHA-256, MGF1-SHA-1");
  ExpectDecryptionFailed(key, Hex(kOaepSha256WithLabel), "non-empty label");
  ExpectDecryptionFailed(key, Hex(kPkcs1v15), "PKCS#1 v1.5");
}

TEST(RsaOaepTest, WrongKeyFails) {
  ExpectDecryptionFailed(Generated(2048).private_key_der.span(),
                         Hex(kOpensslPt32), "another 2048-bit key");
  ExpectDecryptionFailed(Generated(4096).private_key_der.span(),
                         Hex(kOpensslPt32), "a 4096-bit key");
}

TEST(RsaOaepTest, MalformedPrivateKeyFails) {
  const std::vector<uint8_t> key = Hex(kKatPrivateKeyPkcs8);
  const std::vector<uint8_t> ct = Hex(kOpensslPt32);
  ExpectDecryptionFailed({}, ct, "empty key");
  for (size_t len : {1u, 26u, 100u, 600u, 1215u}) {
    ExpectDecryptionFailed(std::span(key).first(len), ct,
                           "key truncated to " + std::to_string(len));
  }
  std::vector<uint8_t> trailing = key;
  trailing.push_back(0);
  ExpectDecryptionFailed(trailing, ct, "trailing byte after the DER");
  std::vector<uint8_t> bad_tag = key;
  bad_tag[0] = 0x31;  // SET, not SEQUENCE
  ExpectDecryptionFailed(bad_tag, ct, "outer tag");
  // privateKeyAlgorithm rsaEncryption (1.2.840.113549.1.1.1) turned into
  // id-RSASSA-PSS (...1.1.10): a signing-only key.
  std::vector<uint8_t> pss = key;
  ASSERT_EQ(pss[19], 0x01);
  pss[19] = 0x0a;
  ExpectDecryptionFailed(pss, ct, "RSASSA-PSS key");
  std::vector<uint8_t> unknown_oid = key;
  unknown_oid[19] = 0x7f;
  ExpectDecryptionFailed(unknown_oid, ct, "unknown algorithm");
  ExpectDecryptionFailed(std::vector<uint8_t>(1216, 0xa5), ct, "garbage");

  // The PKCS#1 RSAPrivateKey inside the PKCS#8 OCTET STRING (offset 26): the
  // same key, but not the encoding the contract names.
  const std::span<const uint8_t> pkcs1 = std::span(key).subspan(26);
  ASSERT_EQ(pkcs1[0], 0x30);
  ASSERT_EQ(pkcs1.size(), 4u + 0x04a2);
  ExpectDecryptionFailed(pkcs1, ct, "PKCS#1 instead of PKCS#8");

  ExpectDecryptionFailed(Hex(kEcPrivateKeyPkcs8), ct, "an EC key");
}

TEST(RsaOaepTest, EncryptToKatKeyDecryptsAndIsRandomized) {
  const std::vector<uint8_t> key = Hex(kKatPrivateKeyPkcs8);
  auto a = RsaOaepSha256Encrypt(kKatPublicKeyPem, Pt32());
  auto b = RsaOaepSha256Encrypt(kKatPublicKeyPem, Pt32());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->size(), 256u);
  EXPECT_NE(*a, *b);  // a fresh seed per encryption (§7.1.1 step 2.d)
  for (const auto& ct : {*a, *b}) {
    auto pt = RsaOaepSha256Decrypt(key, ct);
    ASSERT_TRUE(pt.ok()) << pt.status();
    EXPECT_EQ(ToVector(*pt), Pt32());
  }
}

TEST(RsaOaepTest, EncryptEnforcesTheMessageLengthBound) {
  // mLen <= k - 2hLen - 2 = 190 for 2048 bits (RFC 8017 §7.1.1 step 1.b).
  EXPECT_TRUE(RsaOaepSha256Encrypt(kKatPublicKeyPem, Pt190()).ok());
  EXPECT_TRUE(RsaOaepSha256Encrypt(kKatPublicKeyPem, {}).ok());
  auto r = RsaOaepSha256Encrypt(kKatPublicKeyPem, std::vector<uint8_t>(191, 1));
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(RsaOaepTest, EncryptRejectsWhatIsNotAPemRsaPublicKey) {
  for (std::string_view bad :
       {std::string_view(), std::string_view("not a key"),
        std::string_view(kEcPublicKeyPem),
        // The private key's DER is not PEM.
        std::string_view(kKatPrivateKeyPkcs8)}) {
    auto r = RsaOaepSha256Encrypt(bad, Pt32());
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad;
    EXPECT_EQ(ERR_peek_error(), 0u);
  }
  // A cut-off PEM block.
  const std::string pem = kKatPublicKeyPem;
  EXPECT_FALSE(RsaOaepSha256Encrypt(pem.substr(0, pem.size() / 2), Pt32()).ok());

  // PKCS#1 "RSA PUBLIC KEY" of the same key: not the SubjectPublicKeyInfo
  // that GET /import_token hands out.
  PkeyPtr pub = ReadPublicPem(pem);
  ASSERT_NE(pub, nullptr);
  OSSL_ENCODER_CTX* enc = OSSL_ENCODER_CTX_new_for_pkey(
      pub.get(), EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific", nullptr);
  unsigned char* data = nullptr;
  size_t len = 0;
  ASSERT_EQ(OSSL_ENCODER_to_data(enc, &data, &len), 1);
  OSSL_ENCODER_CTX_free(enc);
  const std::string pkcs1(reinterpret_cast<char*>(data), len);
  OPENSSL_free(data);
  ASSERT_TRUE(pkcs1.starts_with("-----BEGIN RSA PUBLIC KEY-----")) << pkcs1;
  EXPECT_TRUE(absl::IsInvalidArgument(
      RsaOaepSha256Encrypt(pkcs1, Pt32()).status()));
}

TEST(RsaOaepTest, GenerateRejectsUnsupportedSizes) {
  for (int bits : {-1, 0, 1024, 2047, 2049, 3000, 7000, 9216, 16384}) {
    auto r = GenerateRsaKeyPair(bits);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bits;
  }
}

TEST(RsaOaepTest, Generated4096KeyRoundTripsAndRejectsEveryFlippedByte) {
  const RsaKeyPair& pair = Generated(4096);
  const std::vector<uint8_t> key_material = Pt32();
  auto ct = RsaOaepSha256Encrypt(pair.public_key_pem, key_material);
  ASSERT_TRUE(ct.ok()) << ct.status();
  ASSERT_EQ(ct->size(), 512u);
  auto pt = RsaOaepSha256Decrypt(pair.private_key_der.span(), *ct);
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(ToVector(*pt), key_material);

  // The longest message: 512 - 2*32 - 2 = 446 bytes.
  const std::vector<uint8_t> longest(446, 0x5c);
  auto ct_long = RsaOaepSha256Encrypt(pair.public_key_pem, longest);
  ASSERT_TRUE(ct_long.ok()) << ct_long.status();
  pt = RsaOaepSha256Decrypt(pair.private_key_der.span(), *ct_long);
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(ToVector(*pt), longest);
  EXPECT_FALSE(RsaOaepSha256Encrypt(pair.public_key_pem,
                                    std::vector<uint8_t>(447, 0x5c))
                   .ok());

  for (size_t i = 0; i < ct->size(); ++i) {
    std::vector<uint8_t> bad = *ct;
    bad[i] ^= 0x80;
    ExpectDecryptionFailed(pair.private_key_der.span(), bad,
                           "flipped byte " + std::to_string(i));
  }
  ExpectDecryptionFailed(pair.private_key_der.span(),
                         std::span(*ct).first(511), "truncated");
  std::vector<uint8_t> longer = *ct;
  longer.push_back(0);
  ExpectDecryptionFailed(pair.private_key_der.span(), longer, "extended");
}

TEST(RsaOaepTest, GeneratedKeyExportsPkcs8AndSpkiPemOfTheSamePair) {
  for (int bits : {2048, 4096}) {
    const RsaKeyPair& pair = Generated(bits);
    EXPECT_TRUE(pair.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"))
        << pair.public_key_pem;
    EXPECT_TRUE(pair.public_key_pem.ends_with("-----END PUBLIC KEY-----\n"));

    PkeyPtr priv = ReadPkcs8(pair.private_key_der.span());
    ASSERT_NE(priv, nullptr) << "not a complete PKCS#8 PrivateKeyInfo";
    EXPECT_TRUE(EVP_PKEY_is_a(priv.get(), "RSA"));
    EXPECT_EQ(EVP_PKEY_get_bits(priv.get()), bits);
    BIGNUM* e = nullptr;
    ASSERT_EQ(EVP_PKEY_get_bn_param(priv.get(), "e", &e), 1);
    EXPECT_EQ(BN_get_word(e), 65537u);
    BN_free(e);

    PkeyPtr pub = ReadPublicPem(pair.public_key_pem);
    ASSERT_NE(pub, nullptr) << "PEM does not re-import";
    EXPECT_EQ(EVP_PKEY_eq(pub.get(), priv.get()), 1);
  }
  // Two generations give two keys.
  EXPECT_NE(Generated(2048).public_key_pem, Generated(4096).public_key_pem);
  auto another = GenerateRsaKeyPair(2048);
  ASSERT_TRUE(another.ok());
  EXPECT_NE(another->public_key_pem, Generated(2048).public_key_pem);
}

}  // namespace
}  // namespace keywarden::crypto
