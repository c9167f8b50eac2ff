/* BLAKE3: the official test vectors, byte equality with b3sum at every length up to a few
 * chunks' worth of tree levels, and every SIMD kernel against the reference (lengths, unaligned
 * buffers, streaming splits, XOF lengths, kernel entry points with counters that carry).
 * b3sum is a test dependency (scripts/install-deps.sh installs it): without it the b3sum test
 * fails rather than passing silently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/blake3_internal.h"
#include "unit/testutil.h"
#include "weft/blake3.h"
#include "weft/err.h"

/* BLAKE3-team/BLAKE3 test_vectors/test_vectors.json: input byte i is i % 251; keyed_hash uses
 * the 32-byte ASCII key below. Each output is 131 bytes of extended output. */
static const char blake3_vector_key[] = "whats the Elvish word for friend";

typedef struct blake3_vector {
    size_t len;
    const char *hash;
    const char *keyed;
} blake3_vector;

#define BLAKE3_VECTOR_OUT 131

static const blake3_vector blake3_vectors[] = {
    {0,
     "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262e00f03e7b69af26b"
     "7faaf09fcd333050338ddfe085b8cc869ca98b206c08243a26f5487789e8f660afe6c99ef9e0c52b"
     "92e7393024a80459cf91f476f9ffdbda7001c22e159b402631f277ca96f2defdf1078282314e7636"
     "99a31c5363165421cce14d",
     "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26b18171a2f22a4b94"
     "822c701f107153dba24918c4bae4d2945c20ece13387627d3b73cbf97b797d5e59948c7ef788f543"
     "72df45e45e4293c7dc18c1d41144a9758be58960856be1eabbe22c2653190de560ca3b2ac4aa692a"
     "9210694254c371e851bc8f"},
    {1,
     "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213c3a6cb8bf623e20c"
     "db535f8d1a5ffb86342d9c0b64aca3bce1d31f60adfa137b358ad4d79f97b47c3d5e79f179df87a3"
     "b9776ef8325f8329886ba42f07fb138bb502f4081cbcec3195c5871e6c23e2cc97d3c69a613eba13"
     "1e5f1351f3f1da786545e5",
     "6d7878dfff2f485635d39013278ae14f1454b8c0a3a2d34bc1ab38228a80c95b6568c04906094130"
     "06fbd428eb3fd14e7756d90f73a4725fad147f7bf70fd61c4e0cf7074885e92b0e3f125978b41549"
     "86d4fb202a3f331a3fb6cf349a3a70e49990f98fe4289761c8602c4e6ab1138d31d3b62218078b2f"
     "3ba9a88e1d08d0dd4cea11"},
    {2,
     "7b7015bb92cf0b318037702a6cdd81dee41224f734684c2c122cd6359cb1ee63d8386b22e2ddc058"
     "36b7c1bb693d92af006deb5ffbc4c70fb44d0195d0c6f252faac61659ef86523aa16517f87cb5f13"
     "40e723756ab65efb2f91964e14391de2a432263a6faf1d146937b35a33621c12d00be8223a7f1919"
     "cec0acd12097ff3ab00ab1",
     "5392ddae0e0a69d5f40160462cbd9bd889375082ff224ac9c758802b7a6fd20a9ffbf7efd13e989a"
     "6c246f96d3a96b9d279f2c4e63fb0bdff633957acf50ee1a5f658be144bab0f6f16500dee4aa5967"
     "fc2c586d85a04caddec90fffb7633f46a60786024353b9e5cebe277fcd9514217fee2267dcda8f7b"
     "31697b7c54fab6a939bf8f"},
    {3,
     "e1be4d7a8ab5560aa4199eea339849ba8e293d55ca0a81006726d184519e647f5b49b82f805a538c"
     "68915c1ae8035c900fd1d4b13902920fd05e1450822f36de9454b7e9996de4900c8e723512883f93"
     "f4345f8a58bfe64ee38d3ad71ab027765d25cdd0e448328a8e7a683b9a6af8b0af94fa09010d9186"
     "890b096a08471e4230a134",
     "39e67b76b5a007d4921969779fe666da67b5213b096084ab674742f0d5ec62b9b9142d0fab08e1b1"
     "61efdbb28d18afc64d8f72160c958e53a950cdecf91c1a1bbab1a9c0f01def762a77e2e8545d4dec"
     "241e98a89b6db2e9a5b070fc110caae2622690bd7b76c02ab60750a3ea75426a6bb8803c370ffe46"
     "5f07fb57def95df772c39f"},
    {4,
     "f30f5ab28fe047904037f77b6da4fea1e27241c5d132638d8bedce9d40494f328f603ba4564453e0"
     "6cdcee6cbe728a4519bbe6f0d41e8a14b5b225174a566dbfa61b56afb1e452dc08c804f8c3143c9e"
     "2cc4a31bb738bf8c1917b55830c6e65797211701dc0b98daa1faeaa6ee9e56ab606ce03a1a881e8f"
     "14e87a4acf4646272cfd12",
     "7671dde590c95d5ac9616651ff5aa0a27bee5913a348e053b8aa9108917fe070116c0acff3f0d1fa"
     "97ab38d813fd46506089118147d83393019b068a55d646251ecf81105f798d76a10ae413f3d92578"
     "7d6216a7eb444e510fd56916f1d753a5544ecf0072134a146b2615b42f50c179f56b8fae0788008e"
     "3e27c67482349e249cb86a"},
    {5,
     "b40b44dfd97e7a84a996a91af8b85188c66c126940ba7aad2e7ae6b385402aa2ebcfdac6c5d32c31"
     "209e1f81a454751280db64942ce395104e1e4eaca62607de1c2ca748251754ea5bbe8c20150e7f47"
     "efd57012c63b3c6a6632dc1c7cd15f3e1c999904037d60fac2eb9397f2adbe458d7f264e64f1e73a"
     "a927b30988e2aed2f03620",
     "73ac69eecf286894d8102018a6fc729f4b1f4247d3703f69bdc6a5fe3e0c84616ab199d1f2f3e53b"
     "ffb17f0a2209fe8b4f7d4c7bae59c2bc7d01f1ff94c67588cc6b38fa6024886f2c078bfe09b5d9e6"
     "584cd6c521c3bb52f4de7687b37117a2dbbec0d59e92fa9a8cc3240d4432f91757aabcae03e87431"
     "dac003e7d73574bfdd8218"},
    {6,
     "06c4e8ffb6872fad96f9aaca5eee1553eb62aed0ad7198cef42e87f6a616c844611a30c4e4f37fe2"
     "fe23c0883cde5cf7059d88b657c7ed2087e3d210925ede716435d6d5d82597a1e52b9553919e804f"
     "5656278bd739880692c94bff2824d8e0b48cac1d24682699e4883389dc4f2faa2eb3b4db6e39debd"
     "5061ff3609916f3e07529a",
     "82d3199d0013035682cc7f2a399d4c212544376a839aa863a0f4c91220ca7a6dc2ffb3aa05f2631f"
     "0fa9ac19b6e97eb7e6669e5ec254799350c8b8d189e8807800842a5383c4d907c932f34490aaf000"
     "64de8cdb157357bde37c1504d2960034930887603abc5ccb9f5247f79224baff6120a3c622a46d7b"
     "1bcaee02c5025460941256"},
    {7,
     "3f8770f387faad08faa9d8414e9f449ac68e6ff0417f673f602a646a891419fe66036ef6e6d1a8f5"
     "4baa9fed1fc11c77cfb9cff65bae915045027046ebe0c01bf5a941f3bb0f73791d3fc0b84370f9f3"
     "0af0cd5b0fc334dd61f70feb60dad785f070fef1f343ed933b49a5ca0d16a503f599a365a4296739"
     "248b28d1a20b0e2cc8975c",
     "af0a7ec382aedc0cfd626e49e7628bc7a353a4cb108855541a5651bf64fbb28a7c5035ba0f48a9c7"
     "3dabb2be0533d02e8fd5d0d5639a18b2803ba6bf527e1d145d5fd6406c437b79bcaad6c7bdf1cf4b"
     "d56a893c3eb9510335a7a798548c6753f74617bede88bef924ba4b334f8852476d90b26c5dc4c366"
     "8a2519266a562c6c8034a6"},
    {8,
     "2351207d04fc16ade43ccab08600939c7c1fa70a5c0aaca76063d04c3228eaeb725d6d46ceed8f78"
     "5ab9f2f9b06acfe398c6699c6129da084cb531177445a682894f9685eaf836999221d17c9a64a3a0"
     "57000524cd2823986db378b074290a1a9b93a22e135ed2c14c7e20c6d045cd00b903400374126676"
     "ea78874d79f2dd7883cf5c",
     "be2f5495c61cba1bb348a34948c004045e3bd4dae8f0fe82bf44d0da245a060048eb5e68ce6dea1e"
     "b0229e144f578b3aa7e9f4f85febd135df8525e6fe40c6f0340d13dd09b255ccd5112a94238f2be3"
     "c0b5b7ecde06580426a93e0708555a265305abf86d874e34b4995b788e37a823491f25127a502fe0"
     "704baa6bfdf04e76c13276"},
    {63,
     "e9bc37a594daad83be9470df7f7b3798297c3d834ce80ba85d6e207627b7db7b1197012b1e7d9af4"
     "d7cb7bdd1f3bb49a90a9b5dec3ea2bbc6eaebce77f4e470cbf4687093b5352f04e4a4570fba23316"
     "4e6acc36900e35d185886a827f7ea9bdc1e5c3ce88b095a200e62c10c043b3e9bc6cb9b6ac4dfa51"
     "794b02ace9f98779040755",
     "bb1eb5d4afa793c1ebdd9fb08def6c36d10096986ae0cfe148cd101170ce37aea05a63d74a840aec"
     "d514f654f080e51ac50fd617d22610d91780fe6b07a26b0847abb38291058c97474ef6ddd190d30f"
     "c318185c09ca1589d2024f0a6f16d45f11678377483fa5c005b2a107cb9943e5da634e7046855eaa"
     "888663de55d6471371d55d"},
    {64,
     "4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98fc9cc56cb831ffe3"
     "3ea8e7e1d1df09b26efd2767670066aa82d023b1dfe8ab1b2b7fbb5b97592d46ffe3e05a6a9b592e"
     "2949c74160e4674301bc3f97e04903f8c6cf95b863174c33228924cdef7ae47559b10b294acd6606"
     "66c4538833582b43f82d74",
     "ba8ced36f327700d213f120b1a207a3b8c04330528586f414d09f2f7d9ccb7e68244c26010afc3f7"
     "62615bbac552a1ca909e67c83e2fd5478cf46b9e811efccc93f77a21b17a152ebaca1695733fdb08"
     "6e23cd0eb48c41c034d52523fc21236e5d8c9255306e48d52ba40b4dac24256460d56573d1312319"
     "afcf3ed39d72d0bfc69acb"},
    {65,
     "de1e5fa0be70df6d2be8fffd0e99ceaa8eb6e8c93a63f2d8d1c30ecb6b263dee0e16e0a4749d6811"
     "dd1d6d1265c29729b1b75a9ac346cf93f0e1d7296dfcfd4313b3a227faaaaf7757cc95b4e87a49be"
     "3b8a270a12020233509b1c3632b3485eef309d0abc4a4a696c9decc6e90454b53b000f456a3f1007"
     "9072baaf7a981653221f2c",
     "c0a4edefa2d2accb9277c371ac12fcdbb52988a86edc54f0716e1591b4326e72d5e795f46a596b02"
     "d3d4bfb43abad1e5d19211152722ec1f20fef2cd413e3c22f2fc5da3d73041275be6ede3517b3b9f"
     "0fc67ade5956a672b8b75d96cb43294b9041497de92637ed3f2439225e683910cb3ae923374449ca"
     "788fb0f9bea92731bc26ad"},
    {127,
     "d81293fda863f008c09e92fc382a81f5a0b4a1251cba1634016a0f86a6bd640de3137d477156d1fd"
     "e56b0cf36f8ef18b44b2d79897bece12227539ac9ae0a5119da47644d934d26e74dc316145dcb8bb"
     "69ac3f2e05c242dd6ee06484fcb0e956dc44355b452c5e2bbb5e2b66e99f5dd443d0cbcaaafd4bee"
     "baed24ae2f8bb672bcef78",
     "c64200ae7dfaf35577ac5a9521c47863fb71514a3bcad18819218b818de85818ee7a317aaccc1458"
     "f78d6f65f3427ec97d9c0adb0d6dacd4471374b621b7b5f35cd54663c64dbe0b9e2d95632f84c611"
     "313ea5bd90b71ce97b3cf645776f3adc11e27d135cbadb9875c2bf8d3ae6b02f8a0206aba0c35bfe"
     "42574011931c9a255ce6dc"},
    {128,
     "f17e570564b26578c33bb7f44643f539624b05df1a76c81f30acd548c44b45efa69faba091427f9c"
     "5c4caa873aa07828651f19c55bad85c47d1368b11c6fd99e47ecba5820a0325984d74fe3e4058494"
     "ca12e3f1d3293d0010a9722f7dee64f71246f75e9361f44cc8e214a100650db1313ff76a9f93ec6e"
     "84edb7add1cb4a95019b0c",
     "b04fe15577457267ff3b6f3c947d93be581e7e3a4b018679125eaf86f6a628ecd86bbe0001f10bda"
     "47e6077b735016fca8119da11348d93ca302bbd125bde0db2b50edbe728a620bb9d3e6f706286aed"
     "ea973425c0b9eedf8a38873544cf91badf49ad92a635a93f71ddfcee1eae536c25d1b270956be165"
     "88ef1cfef2f1d15f650bd5"},
    {129,
     "683aaae9f3c5ba37eaaf072aed0f9e30bac0865137bae68b1fde4ca2aebdcb12f96ffa7b36dd78ba"
     "321be7e842d364a62a42e3746681c8bace18a4a8a79649285c7127bf8febf125be9de39586d251f0"
     "d41da20980b70d35e3dac0eee59e468a894fa7e6a07129aaad09855f6ad4801512a116ba2b7841e6"
     "cfc99ad77594a8f2d181a7",
     "d4a64dae6cdccbac1e5287f54f17c5f985105457c1a2ec1878ebd4b57e20d38f1c9db018541eec24"
     "1b748f87725665b7b1ace3e0065b29c3bcb232c90e37897fa5aaee7e1e8a2ecfcd9b51463e42238c"
     "fdd7fee1aecb3267fa7f2128079176132a412cd8aaf0791276f6b98ff67359bd8652ef3a203976d5"
     "ff1cd41885573487bcd683"},
    {1023,
     "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11a182d27a591b0559"
     "2b15607500e1e8dd56bc6c7fc063715b7a1d737df5bad3339c56778957d870eb9717b57ea3d9fb68"
     "d1b55127bba6a906a4a24bbd5acb2d123a37b28f9e9a81bbaae360d58f85e5fc9d75f7c370a0cc09"
     "b6522d9c8d822f2f28f485",
     "c951ecdf03288d0fcc96ee3413563d8a6d3589547f2c2fb36d9786470f1b9d6e890316d2e6d8b8c2"
     "5b0a5b2180f94fb1a158ef508c3cde45e2966bd796a696d3e13efd86259d756387d9becf5c8bf1ce"
     "2192b87025152907b6d8cc33d17826d8b7b9bc97e38c3c85108ef09f013e01c229c20a83d9e8efac"
     "5b37470da28575fd755a10"},
    {1024,
     "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af71cf8107265ecdaf8"
     "505b95d8fcec83a98a6a96ea5109d2c179c47a387ffbb404756f6eeae7883b446b70ebb144527c20"
     "75ab8ab204c0086bb22b7c93d465efc57f8d917f0b385c6df265e77003b85102967486ed57db5c5c"
     "a170ba441427ed9afa684e",
     "75c46f6f3d9eb4f55ecaaee480db732e6c2105546f1e675003687c31719c7ba4a78bc838c72852d4"
     "f49c864acb7adafe2478e824afe51c8919d06168414c265f298a8094b1ad813a9b8614acabac321f"
     "24ce61c5a5346eb519520d38ecc43e89b5000236df0597243e4d2493fd626730e2ba17ac4d8824d0"
     "9d1a4a8f57b8227778e2de"},
    {1025,
     "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444f4c4a22b4b399155"
     "358a994e52bf255de60035742ec71bd08ac275a1b51cc6bfe332b0ef84b409108cda080e6269ed4b"
     "3e2c3f7d722aa4cdc98d16deb554e5627be8f955c98e1d5f9565a9194cad0c4285f93700062d9595"
     "adb992ae68ff12800ab67a",
     "357dc55de0c7e382c900fd6e320acc04146be01db6a8ce7210b7189bd664ea69362396b77fdc0d26"
     "34a552970843722066c3c15902ae5097e00ff53f1e116f1cd5352720113a837ab2452cafbde4d540"
     "85d9cf5d21ca613071551b25d52e69d6c81123872b6f19cd3bc1333edf0c52b94de23ba772cf8263"
     "6cff4542540a7738d5b930"},
    {2048,
     "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a9a60bf80001410ec"
     "9eea6698cd537939fad4749edd484cb541aced55cd9bf54764d063f23f6f1e32e12958ba5cfeb1bf"
     "618ad094266d4fc3c968c2088f677454c288c67ba0dba337b9d91c7e1ba586dc9a5bc2d5e90c14f5"
     "3a8863ac75655461cea8f9",
     "879cf1fa2ea0e79126cb1063617a05b6ad9d0b696d0d757cf053439f60a99dd10173b961cd574288"
     "194b23ece278c330fbb8585485e74967f31352a8183aa782b2b22f26cdcadb61eed1a5bc144b8198"
     "fbb0c13abbf8e3192c145d0a5c21633b0ef86054f42809df823389ee40811a5910dcbd1018af31c3"
     "b43aa55201ed4edaac74fe"},
    {2049,
     "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b687952256303096de31d71d741034"
     "03822a2e0bc1eb193e7aecc9643a76b7bbc0c9f9c52e8783aae98764ca468962b5c2ec92f0c74eb5"
     "448d519713e09413719431c802f948dd5d90425a4ecdadece9eb178d80f26efccae630734dff6334"
     "0285adec2aed3b51073ad3",
     "9f29700902f7c86e514ddc4df1e3049f258b2472b6dd5267f61bf13983b78dd5f9a88abfefdfa1e0"
     "0b418971f2b39c64ca621e8eb37fceac57fd0c8fc8e117d43b81447be22d5d8186f8f5919ba6bcc6"
     "846bd7d50726c06d245672c2ad4f61702c646499ee1173daa061ffe15bf45a631e2946d616a4c345"
     "822f1151284712f76b2b0e"},
    {3072,
     "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd29a3f6b0b978d6608"
     "335c09dc94ccf682f9951cdfc501bfe47b9c9189a6fc7b404d120258506341a6d802857322fbd20d"
     "3e5dae05b95c88793fa83db1cb08e7d8008d1599b6209d78336e24839724c191b2a52a80448306e0"
     "daa84a3fdb566661a37e11",
     "044a0e7b172a312dc02a4c9a818c036ffa2776368d7f528268d2e6b5df19177022f302d0529e4174"
     "cc507c463671217975e81dab02b8fdeb0d7ccc7568dd22574c783a76be215441b32e91b9a904be8e"
     "a81f7a0afd14bad8ee7c8efc305ace5d3dd61b996febe8da4f56ca0919359a7533216e2999fc87ff"
     "7d8f176fbecb3d6f34278b"},
    {3073,
     "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd39a27ae3b79d68d89"
     "da9bf25bc27139ae65a324918a5f9b7828181e52cf373c84f35b639b7fccbb985b6f2fa56aea0c18"
     "f531203497b8bbd3a07ceb5926f1cab74d14bd66486d9a91eba99059a98bd1cd25876b2af5a76c3e"
     "9eed554ed72ea952b603bf",
     "68dede9bef00ba89e43f31a6825f4cf433389fedae75c04ee9f0cf16a427c95a96d6da3fe985054d"
     "3478865be9a092250839a697bbda74e279e8a9e69f0025e4cfddd6cfb434b1cd9543aaf97c635d1b"
     "451a4386041e4bb100f5e45407cbbc24fa53ea2de3536ccb329e4eb9466ec37093a42cf62b82903c"
     "696a93a50b702c80f3c3c5"},
    {4096,
     "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e9690289e9409ddb1b99"
     "768eafe1623da896faf7e1114bebeadc1be30829b6f8af707d85c298f4f0ff4d9438aef948335612"
     "ae921e76d411c3a9111df62d27eaf871959ae0062b5492a0feb98ef3ed4af277f5395172dbe5c311"
     "918ea0074ce0036454f620",
     "befc660aea2f1718884cd8deb9902811d332f4fc4a38cf7c7300d597a081bfc0bbb64a36edb564e0"
     "1e4b4aaf3b060092a6b838bea44afebd2deb8298fa562b7b597c757b9df4c911c3ca462e2ac89e9a"
     "787357aaf74c3b56d5c07bc93ce899568a3eb17d9250c20f6c5f6c1e792ec9a2dcb715398d5a6ec6"
     "d5c54f586a00403a1af1de"},
    {4097,
     "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb99505f91b0b5600a112"
     "51652eacfa9497b31cd3c409ce2e45cfe6c0a016967316c426bd26f619eab5d70af9a418b845c608"
     "840390f361630bd497b1ab44019316357c61dbe091ce72fc16dc340ac3d6e009e050b3adac4b5b2c"
     "92e722cffdc46501531956",
     "00df940cd36bb9fa7cbbc3556744e0dbc8191401afe70520ba292ee3ca80abbc606db4976cfdd266"
     "ae0abf667d9481831ff12e0caa268e7d3e57260c0824115a54ce595ccc897786d9dcbf495599cfd9"
     "0157186a46ec800a6763f1c59e36197e9939e900809f7077c102f888caaf864b253bc41eea812656"
     "d46742e4ea42769f89b83f"},
    {5120,
     "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833acc61c8fdc114a20"
     "10ce8038c853e121e1544985133fccdd0a2d507e8e615e611e9a0ba4f47915f49e53d721816a9198"
     "e8b30f12d20ec3689989175f1bf7a300eee0d9321fad8da232ece6efb8e9fd81b42ad161f6b9550a"
     "069e66b11b40487a5f5059",
     "2c493e48e9b9bf31e0553a22b23503c0a3388f035cece68eb438d22fa1943e209b4dc9209cd80ce7"
     "c1f7c9a744658e7e288465717ae6e56d5463d4f80cdb2ef56495f6a4f5487f69749af0c34c2cdfa8"
     "57f3056bf8d807336a14d7b89bf62bef2fb54f9af6a546f818dc1e98b9e07f8a5834da50fa28fb58"
     "74af91bf06020d1bf0120e"},
    {5121,
     "628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff96adaab0613a6146"
     "cdaabe498c3a94e529d3fc1da2bd08edf54ed64d40dcd6777647eac51d8277d70219a9694334a68b"
     "c8f0f23e20b0ff70ada6f844542dfa32cd4204ca1846ef76d811cdb296f65e260227f477aa7aa008"
     "bac878f72257484f2b6c95",
     "6ccf1c34753e7a044db80798ecd0782a8f76f33563accaddbfbb2e0ea4b2d0240d07e63f13667a8d"
     "1490e5e04f13eb617aea16a8c8a5aaed1ef6fbde1b0515e3c81050b361af6ead126032998290b563"
     "e3caddeaebfab592e155f2e161fb7cba939092133f23f9e65245e58ec23457b78a2e8a125588aad6"
     "e07d7f11a85b88d375b72d"},
    {6144,
     "3e2e5b74e048f3add6d21faab3f83aa44d3b2278afb83b80b3c35164ebeca2054d742022da6fdda4"
     "44ebc384b04a54c3ac5839b49da7d39f6d8a9db03deab32aade156c1c0311e9b3435cde0ddba0dce"
     "7b26a376cad121294b689193508dd63151603c6ddb866ad16c2ee41585d1633a2cea093bea714f4c"
     "5d6b903522045b20395c83",
     "3d6b6d21281d0ade5b2b016ae4034c5dec10ca7e475f90f76eac7138e9bc8f1dc35754060091dc5c"
     "af3efabe0603c60f45e415bb3407db67e6beb3d11cf8e4f7907561f05dace0c15807f4b5f389c841"
     "eb114d81a82c02a00b57206b1d11fa6e803486b048a5ce87105a686dee041207e095323dfe172df7"
     "3deb8c9532066d88f9da7e"},
    {6145,
     "f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f18a2cfdd73c6e39d"
     "d75ce7c1c6e3ef238fd54465f053b25d21044ccb2093beb015015532b108313b5829c3621ce324b8"
     "e14229091b7c93f32db2e4e63126a377d2a63a3597997d4f1cba59309cb4af240ba70cebff9a23d5"
     "e3ff0cdae2cfd54e070022",
     "9ac301e9e39e45e3250a7e3b3df701aa0fb6889fbd80eeecf28dbc6300fbc539f3c184ca2f59780e"
     "27a576c1d1fb9772e99fd17881d02ac7dfd39675aca918453283ed8c3169085ef4a466b91c1649cc"
     "341dfdee60e32231fc34c9c4e0b9a2ba87ca8f372589c744c15fd6f985eec15e98136f25beeb4b13"
     "c4e43dc84abcc79cd4646c"},
    {7168,
     "61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a5707c321c8336179"
     "3b9af62a40f43b523df1c8633cecb4cd14d00bdc79c78fca5165b863893f6d38b02ff7236c5a9a8a"
     "d2dba87d24c547cab046c29fc5bc1ed142e1de4763613bb162a5a538e6ef05ed05199d751f9eb58d"
     "332791b8d73fb74e4fce95",
     "b42835e40e9d4a7f42ad8cc04f85a963a76e18198377ed84adddeaecacc6f3fca2f01d5277d69bb6"
     "81c70fa8d36094f73ec06e452c80d2ff2257ed82e7ba348400989a65ee8daa7094ae0933e3d2210a"
     "c6395c4af24f91c2b590ef87d7788d7066ea3eaebca4c08a4f14b9a27644f99084c3543711b64a07"
     "0b94f2c9d1d8a90d035d52"},
    {7169,
     "a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e781798a8b20534be1ca9"
     "eb2ae2df3fae2ea60e48c6fb0b850b1385b5de0fe460dbe9d9f9b0d8db4435da75c601156df9d047"
     "f4ede008732eb17adc05d96180f8a73548522840779e6062d643b79478a6e8dbce68927f36ebf676"
     "ffa7d72d5f68f050b119c8",
     "ed9b1a922c046fdb3d423ae34e143b05ca1bf28b710432857bf738bcedbfa5113c9e28d72fcbfc02"
     "0814ce3f5d4fc867f01c8f5b6caf305b3ea8a8ba2da3ab69fabcb438f19ff11f5378ad4484d75c47"
     "8de425fb8e6ee809b54eec9bdb184315dc856617c09f5340451bf42fd3270a7b0b6566169f242e53"
     "3777604c118a6358250f54"},
    {8192,
     "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a635fe51a27db045a56"
     "7c1ad51be5aa34c01c6651c4d9b5b5ac5d0fd58cf18dd61a47778566b797a8c67df7b1d60b97b192"
     "88d2d877bb2df417ace009dcb0241ca1257d62712b6a4043b4ff33f690d849da91ea3bf711ed583c"
     "b7b7a7da2839ba71309bbf",
     "dc9637c8845a770b4cbf76b8daec0eebf7dc2eac11498517f08d44c8fc00d58a4834464159dcbc12"
     "a0ba0c6d6eb41bac0ed6585cabfe0aca36a375e6c5480c22afdc40785c170f5a6b8a1107dbee2823"
     "18d00d915ac9ed1143ad40765ec120042ee121cd2baa36250c618adaf9e27260fda2f94dea8fb6f0"
     "8c04f8f10c78292aa46102"},
    {8193,
     "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3bb2282aa69be08935"
     "9ea1154b9a9286c4a56af4de975a9aa4a5c497654914d279bea60bb6d2cf7225a2fa0ff5ef56bbe4"
     "b149f3ed15860f78b4e2ad04e158e375c1e0c0b551cd7dfc82f1b155c11b6b3ed51ec9edb30d1336"
     "53bb5709d1dbd55f4e1ff6",
     "954a2a75420c8d6547e3ba5b98d963e6fa6491addc8c023189cc519821b4a1f5f03228648fd983ae"
     "f045c2fa8290934b0866b615f585149587dda2299039965328835a2b18f1d63b7e300fc76ff260b5"
     "71839fe44876a4eae66cbac8c67694411ed7e09df51068a22c6e67d6d3dd2cca8ff12e3275384006"
     "c80f4db68023f24eebba57"},
    {16384,
     "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde49d764c270176e53e"
     "97bdffa58d549073f2c660be0e81293767ed4e4929f9ad34bbb39a529334c57c4a381ffd2a6d4bfd"
     "bf1482651b172aa883cc13408fa67758a3e47503f93f87720a3177325f7823251b85275f64636a8f"
     "1d599c2e49722f42e93893",
     "9e9fc4eb7cf081ea7c47d1807790ed211bfec56aa25bb7037784c13c4b707b0df9e601b101e4cf63"
     "a404dfe50f2e1865bb12edc8fca166579ce0c70dba5a5c0fc960ad6f3772183416a00bd29d4c6e65"
     "1ea7620bb100c9449858bf14e1ddc9ecd35725581ca5b9160de04060045993d972571c3e8f71e9d0"
     "496bfa744656861b169d65"},
    {31744,
     "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47860cc51f2b0c28a7"
     "b77304bd55fe73af663c02d3f52ea053ba43431ca5bab7bfea2f5e9d7121770d88f70ae9649ea713"
     "087d1914f7f312147e247f87eb2d4ffef0ac978bf7b6579d57d533355aa20b8b77b13fd09748728a"
     "5cc327a8ec470f4013226f",
     "efa53b389ab67c593dba624d898d0f7353ab99e4ac9d42302ee64cbf9939a4193a7258db2d9cd32a"
     "7a3ecfce46144114b15c2fcb68a618a976bd74515d47be08b628be420b5e830fade7c080e351a076"
     "fbc38641ad80c736c8a18fe3c66ce12f95c61c2462a9770d60d0f77115bbcd3782b593016a4e728d"
     "4c06cee4505cb0c08a42ec"},
    {102400,
     "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085e01c59dab908c04c"
     "3342b816941a26d69c2605ebee5ec5291cc55e15b76146e6745f0601156c3596cb75065a9c57f355"
     "85a52e1ac70f69131c23d611ce11ee4ab1ec2c009012d236648e77be9295dd0426f29b764d65de58"
     "eb7d01dd42248204f45f8e",
     "1c35d1a5811083fd7119f5d5d1ba027b4d01c0c6c49fb6ff2cf75393ea5db4a7f9dbdd3e1d81dcbc"
     "a3ba241bb18760f207710b751846faaeb9dff8262710999a59b2aa1aca298a032d94eacfadf1aa19"
     "2418eb54808db23b56e34213266aa08499a16b354f018fc4967d05f8b9d2ad87a7278337be9693fc"
     "638a3bfdbe314574ee6fc4"},
};

static const char *const blake3_kernel_names[] = {"ref", "avx2", "avx512"};
#define BLAKE3_N_KERNELS (sizeof blake3_kernel_names / sizeof blake3_kernel_names[0])

/* Selects a kernel; 0 if this CPU (after WEFT_KERNEL) has it. */
static int blake3_use(const char *name)
{
    int rc = weft_blake3__set_kernel(name);
    if (rc != 0)
        assert_int_equal(rc, WEFT_ENOTFOUND);
    return rc;
}

static void blake3_hex(char *hex, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[b[i] >> 4];
        hex[2 * i + 1] = digits[b[i] & 15];
    }
    hex[2 * n] = 0;
}

static void blake3_unhex(uint8_t *b, const char *hex, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++) {
        char c = hex[i];
        unsigned v = c >= 'a' ? (unsigned)(c - 'a' + 10) : (unsigned)(c - '0');
        assert_true(v < 16);
        if (i % 2 == 0)
            b[i / 2] = (uint8_t)(v << 4);
        else
            b[i / 2] |= (uint8_t)v;
    }
}

/* Fails naming what differs, with both values in hex. */
static void blake3_expect(const uint8_t *got, const uint8_t *want, size_t n, const char *what,
                          const char *kernel, size_t len)
{
    if (memcmp(got, want, n) == 0)
        return;
    char g[2 * 256 + 1], w[2 * 256 + 1];
    size_t shown = n < 256 ? n : 256;
    blake3_hex(g, got, shown);
    blake3_hex(w, want, shown);
    fail_msg("%s, kernel %s, input length %zu, %zu output bytes:\n got %s\nwant %s", what, kernel,
             len, n, g, w);
}

/* Hashes through the incremental API in irregular pieces (empty ones, single bytes, odd
 * sizes, whole chunks, pieces larger than a subtree) chosen by `seed`. key NULL: plain. */
static void blake3_stream(uint8_t *out, size_t out_len, const uint8_t *key, const uint8_t *p,
                          size_t n, uint64_t seed)
{
    weft_blake3 h;
    if (key != NULL)
        weft_blake3_init_keyed(&h, key);
    else
        weft_blake3_init(&h);
    uint64_t s = seed;
    size_t off = 0;
    while (off < n) {
        uint64_t r = tu_next(&s);
        size_t take;
        switch (r % 6) {
        case 0:
            take = 0;
            break;
        case 1:
            take = 1 + (size_t)(r >> 8) % 63;
            break;
        case 2:
            take = 1 + (size_t)(r >> 8) % 1100;
            break;
        case 3:
            take = WEFT_BLAKE3_CHUNK_LEN * (1 + (size_t)(r >> 8) % 5);
            break;
        case 4:
            take = 1 + (size_t)(r >> 8) % 9000;
            break;
        default:
            take = 1 + (size_t)(r >> 8) % (600 * 1024);
            break;
        }
        if (take > n - off)
            take = n - off;
        weft_blake3_update(&h, p + off, take);
        off += take;
    }
    weft_blake3_final(&h, out, out_len);
}

static void test_crypto_blake3_official_vectors(void **state)
{
    (void)state;
    const size_t max = 102400;
    uint8_t *in = malloc(max);
    assert_non_null(in);
    for (size_t i = 0; i < max; i++)
        in[i] = (uint8_t)(i % 251);
    const uint8_t *key = (const uint8_t *)blake3_vector_key;
    assert_int_equal(strlen(blake3_vector_key), WEFT_BLAKE3_KEY_LEN);

    size_t n_kernels = 0;
    for (size_t k = 0; k < BLAKE3_N_KERNELS; k++) {
        const char *kn = blake3_kernel_names[k];
        if (blake3_use(kn) != 0)
            continue;
        n_kernels++;
        for (size_t v = 0; v < sizeof blake3_vectors / sizeof blake3_vectors[0]; v++) {
            const blake3_vector *t = &blake3_vectors[v];
            uint8_t want_h[BLAKE3_VECTOR_OUT], want_k[BLAKE3_VECTOR_OUT];
            uint8_t got[BLAKE3_VECTOR_OUT];
            blake3_unhex(want_h, t->hash, sizeof want_h);
            blake3_unhex(want_k, t->keyed, sizeof want_k);
            assert_true(t->len <= max);

            weft_blake3_hash(got, in, t->len);
            blake3_expect(got, want_h, 32, "hash", kn, t->len);
            weft_blake3_keyed(got, key, in, t->len);
            blake3_expect(got, want_k, 32, "keyed hash", kn, t->len);

            weft_blake3 h;
            weft_blake3_init(&h);
            weft_blake3_update(&h, in, t->len);
            weft_blake3_final(&h, got, sizeof got);
            blake3_expect(got, want_h, sizeof got, "extended hash", kn, t->len);

            weft_blake3_init_keyed(&h, key);
            weft_blake3_update(&h, in, t->len / 3);
            weft_blake3_update(&h, in + t->len / 3, t->len - t->len / 3);
            weft_blake3_final(&h, got, sizeof got);
            blake3_expect(got, want_k, sizeof got, "extended keyed hash", kn, t->len);

            blake3_stream(got, sizeof got, NULL, in, t->len, 1000 + v);
            blake3_expect(got, want_h, sizeof got, "streamed extended hash", kn, t->len);
        }
    }
    weft_blake3__set_kernel(NULL);
    assert_true(n_kernels >= 1);
    free(in);
}

/* The SIMD kernels' schedule table is the spec's permutation applied once per round. */
static void test_crypto_blake3_schedule_is_the_permutation(void **state)
{
    (void)state;
    static const uint8_t perm[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};
    uint8_t order[16];
    for (int i = 0; i < 16; i++)
        order[i] = (uint8_t)i;
    for (int r = 0; r < 7; r++) {
        assert_memory_equal(blake3_msg_schedule[r], order, 16);
        uint8_t next[16];
        for (int i = 0; i < 16; i++)
            next[i] = order[perm[i]];
        memcpy(order, next, sizeof order);
    }
}

/* Lengths beyond the every-length range: around one-shot batch limits and many subtrees. */
static const size_t blake3_big_lengths[] = {
    WEFT_BLAKE3__SUBTREE_MAX - 1, WEFT_BLAKE3__SUBTREE_MAX,
    WEFT_BLAKE3__SUBTREE_MAX + 1, (1u << 20) + 7,
    (2u << 20) + 3 * 1024 + 5,
};
#define BLAKE3_B3SUM_MAX_EVERY 4200

/* Runs `cmd` and reads b3sum lines "<64 hex>  n<len>" into hex[len]. Returns the count. */
static size_t blake3_run_b3sum(const char *cmd, char (*hex)[65], size_t max_len)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strlen(line) < 64 + 3 || line[64] != ' ' || line[65] != ' ' || line[66] != 'n')
            fail_msg("unexpected b3sum output: %s", line);
        char *end;
        unsigned long len = strtoul(line + 67, &end, 10);
        assert_true(len <= max_len);
        memcpy(hex[len], line, 64);
        hex[len][64] = 0;
        n++;
    }
    int rc = pclose(f);
    if (rc != 0)
        fail_msg("%s: exit status %d", cmd, rc);
    return n;
}

static void blake3_write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Weft equals b3sum, plain and keyed, at every length 0..4200 and at a few large lengths, for
 * every kernel this CPU has, through the one-shot and (for the large ones) streaming API. */
static void test_crypto_blake3_matches_b3sum(void **state)
{
    (void)state;
    if (system("b3sum --version > /dev/null 2>&1") != 0)
        fail_msg("b3sum not found in PATH: it is the reference for this test "
                 "(scripts/install-deps.sh installs it: apt-get install b3sum)");
    const size_t n_big = sizeof blake3_big_lengths / sizeof blake3_big_lengths[0];
    size_t max = blake3_big_lengths[n_big - 1];
    uint8_t *in = malloc(max);
    char(*want_h)[65] = calloc(max + 1, sizeof *want_h);
    char(*want_k)[65] = calloc(max + 1, sizeof *want_k);
    assert_non_null(in);
    assert_non_null(want_h);
    assert_non_null(want_k);
    tu_fill_random(in, max, 3);
    uint8_t key[WEFT_BLAKE3_KEY_LEN];
    tu_fill_random(key, sizeof key, 4);

    char dir[] = "/tmp/weft-blake3-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char name[64];
    size_t n_files = 0;
    for (size_t len = 0; len <= BLAKE3_B3SUM_MAX_EVERY; len++, n_files++) {
        snprintf(name, sizeof name, "n%zu", len);
        blake3_write_file(dir, name, in, len);
    }
    for (size_t i = 0; i < n_big; i++, n_files++) {
        snprintf(name, sizeof name, "n%zu", blake3_big_lengths[i]);
        blake3_write_file(dir, name, in, blake3_big_lengths[i]);
    }
    blake3_write_file(dir, "key", key, sizeof key);

    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && b3sum -- n*", dir);
    assert_int_equal(blake3_run_b3sum(cmd, want_h, max), n_files);
    snprintf(cmd, sizeof cmd, "cd '%s' && b3sum --keyed -- n* < key", dir);
    assert_int_equal(blake3_run_b3sum(cmd, want_k, max), n_files);
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
    assert_int_equal(system(cmd), 0);

    for (size_t k = 0; k < BLAKE3_N_KERNELS; k++) {
        const char *kn = blake3_kernel_names[k];
        if (blake3_use(kn) != 0)
            continue;
        for (size_t i = 0; i <= BLAKE3_B3SUM_MAX_EVERY + n_big; i++) {
            size_t len = i <= BLAKE3_B3SUM_MAX_EVERY
                             ? i
                             : blake3_big_lengths[i - BLAKE3_B3SUM_MAX_EVERY - 1];
            uint8_t got[32], want[32];
            blake3_unhex(want, want_h[len], 32);
            weft_blake3_hash(got, in, len);
            blake3_expect(got, want, 32, "hash vs b3sum", kn, len);
            if (i > BLAKE3_B3SUM_MAX_EVERY || len % 7 == 0) {
                blake3_stream(got, 32, NULL, in, len, len);
                blake3_expect(got, want, 32, "streamed hash vs b3sum", kn, len);
            }
            blake3_unhex(want, want_k[len], 32);
            weft_blake3_keyed(got, key, in, len);
            blake3_expect(got, want, 32, "keyed hash vs b3sum", kn, len);
            if (i > BLAKE3_B3SUM_MAX_EVERY || len % 7 == 3) {
                blake3_stream(got, 32, key, in, len, len + 1);
                blake3_expect(got, want, 32, "streamed keyed hash vs b3sum", kn, len);
            }
        }
    }
    weft_blake3__set_kernel(NULL);
    free(want_k);
    free(want_h);
    free(in);
}

/* Every SIMD kernel equals the reference at every length up to 33 full chunks plus change
 * (one and two full 16-lane groups, a lone chunk, partial groups, full parent groups), then
 * around every chunk boundary up to four AVX-512 calls of 32 chunks, for plain, keyed and
 * streamed hashing. */
#define BLAKE3_SIMD_MAX_EVERY (33 * WEFT_BLAKE3_CHUNK_LEN + 130)
#define BLAKE3_SIMD_MAX_CHUNKS (4 * 32 + 3)
#define BLAKE3_SIMD_MAX_LEN (BLAKE3_SIMD_MAX_CHUNKS * WEFT_BLAKE3_CHUNK_LEN + 500)

static size_t blake3_simd_kernels(const char **names)
{
    size_t n = 0;
    for (size_t k = 1; k < BLAKE3_N_KERNELS; k++) {
        if (blake3_use(blake3_kernel_names[k]) == 0)
            names[n++] = blake3_kernel_names[k];
    }
    weft_blake3__set_kernel(NULL);
    return n;
}

static void blake3_check_simd_length(const char *const *simd, size_t n_simd, const uint8_t *in,
                                     const uint8_t key[WEFT_BLAKE3_KEY_LEN], size_t len)
{
    uint8_t ref_h[32], ref_k[32], got[32];
    assert_int_equal(blake3_use("ref"), 0);
    weft_blake3_hash(ref_h, in, len);
    weft_blake3_keyed(ref_k, key, in, len);
    for (size_t k = 0; k < n_simd; k++) {
        assert_int_equal(blake3_use(simd[k]), 0);
        weft_blake3_hash(got, in, len);
        blake3_expect(got, ref_h, 32, "hash vs ref", simd[k], len);
        weft_blake3_keyed(got, key, in, len);
        blake3_expect(got, ref_k, 32, "keyed hash vs ref", simd[k], len);
        if (len % 2 == 0) {
            blake3_stream(got, 32, NULL, in, len, len);
            blake3_expect(got, ref_h, 32, "streamed hash vs ref", simd[k], len);
        } else {
            blake3_stream(got, 32, key, in, len, len);
            blake3_expect(got, ref_k, 32, "streamed keyed hash vs ref", simd[k], len);
        }
    }
}

static void test_crypto_blake3_simd_matches_ref_every_length(void **state)
{
    (void)state;
    const char *simd[BLAKE3_N_KERNELS];
    size_t n_simd = blake3_simd_kernels(simd);
    if (n_simd == 0)
        skip();
    uint8_t *in = malloc(BLAKE3_SIMD_MAX_LEN);
    assert_non_null(in);
    tu_fill_random(in, BLAKE3_SIMD_MAX_LEN, 5);
    uint8_t key[WEFT_BLAKE3_KEY_LEN];
    tu_fill_random(key, sizeof key, 6);
    for (size_t len = 0; len <= BLAKE3_SIMD_MAX_EVERY; len++)
        blake3_check_simd_length(simd, n_simd, in, key, len);
    size_t first = BLAKE3_SIMD_MAX_EVERY / WEFT_BLAKE3_CHUNK_LEN + 1;
    for (size_t c = first; c <= BLAKE3_SIMD_MAX_CHUNKS; c++) {
        size_t at = c * WEFT_BLAKE3_CHUNK_LEN;
        blake3_check_simd_length(simd, n_simd, in, key, at - 1);
        blake3_check_simd_length(simd, n_simd, in, key, at);
        blake3_check_simd_length(simd, n_simd, in, key, at + 1);
        blake3_check_simd_length(simd, n_simd, in, key, at + 500);
    }
    weft_blake3__set_kernel(NULL);
    free(in);
}

/* Unaligned input (offsets 1..63) gives the same hash as aligned, for every SIMD kernel. */
static void test_crypto_blake3_simd_matches_ref_unaligned(void **state)
{
    (void)state;
    static const size_t lens[] = {0,    1,    63,    64,    65,    1023,  1024,  1025,
                                  2049, 8191, 16384, 16385, 17425, 33797, 65539, 300007};
    const size_t max = 300007;
    const char *simd[BLAKE3_N_KERNELS];
    size_t n_simd = blake3_simd_kernels(simd);
    if (n_simd == 0)
        skip();
    uint8_t *in = malloc(max);
    uint8_t *moved = malloc(max + 64);
    assert_non_null(in);
    assert_non_null(moved);
    tu_fill_random(in, max, 7);
    uint8_t key[WEFT_BLAKE3_KEY_LEN];
    tu_fill_random(key, sizeof key, 8);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t len = lens[i];
        uint8_t ref_h[32], ref_k[32], got[32];
        assert_int_equal(blake3_use("ref"), 0);
        weft_blake3_hash(ref_h, in, len);
        weft_blake3_keyed(ref_k, key, in, len);
        for (size_t off = 1; off < 64; off++) {
            memcpy(moved + off, in, len);
            for (size_t k = 0; k < n_simd; k++) {
                assert_int_equal(blake3_use(simd[k]), 0);
                weft_blake3_hash(got, moved + off, len);
                blake3_expect(got, ref_h, 32, "unaligned hash vs ref", simd[k], len);
                weft_blake3_keyed(got, key, moved + off, len);
                blake3_expect(got, ref_k, 32, "unaligned keyed hash vs ref", simd[k], len);
                blake3_stream(got, 32, key, moved + off, len, off);
                blake3_expect(got, ref_k, 32, "unaligned streamed keyed hash vs ref", simd[k], len);
            }
        }
    }
    weft_blake3__set_kernel(NULL);
    free(moved);
    free(in);
}

/* Extended output of every length up to several output blocks: each kernel equals the
 * reference, and a shorter output is a prefix of a longer one. */
static void test_crypto_blake3_xof_lengths(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 64, 1024, 1025, 5000, 16 * 1024, 17 * 1024 + 1, 70001};
    const size_t max_out = 1100;
    uint8_t *in = malloc(70001);
    uint8_t *ref = malloc(max_out);
    uint8_t *got = malloc(max_out);
    assert_non_null(in);
    assert_non_null(ref);
    assert_non_null(got);
    tu_fill_random(in, 70001, 9);
    uint8_t key[WEFT_BLAKE3_KEY_LEN];
    tu_fill_random(key, sizeof key, 10);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t len = lens[i];
        assert_int_equal(blake3_use("ref"), 0);
        blake3_stream(ref, max_out, i % 2 ? key : NULL, in, len, 0);
        uint8_t first[32];
        if (i % 2)
            weft_blake3_keyed(first, key, in, len);
        else
            weft_blake3_hash(first, in, len);
        blake3_expect(ref, first, 32, "xof prefix vs one-shot", "ref", len);
        for (size_t k = 0; k < BLAKE3_N_KERNELS; k++) {
            if (blake3_use(blake3_kernel_names[k]) != 0)
                continue;
            for (size_t out_len = 1; out_len <= max_out; out_len += out_len < 200 ? 1 : 97) {
                memset(got, 0xa5, max_out);
                blake3_stream(got, out_len, i % 2 ? key : NULL, in, len, out_len);
                blake3_expect(got, ref, out_len, "xof vs ref", blake3_kernel_names[k], len);
                /* Nothing written past out_len. */
                if (out_len < max_out)
                    assert_int_equal(got[out_len], 0xa5);
            }
        }
    }
    weft_blake3__set_kernel(NULL);
    free(got);
    free(ref);
    free(in);
}

/* The kernel entry points directly, against the reference: every count up to past two kernel
 * widths, partial last chunks, both flag sets, counters whose low word carries inside a
 * batch, and parents computed in place. */
static void test_crypto_blake3_simd_kernels_match_ref(void **state)
{
    (void)state;
    static const size_t last_lens[] = {1, 63, 64, 65, 500, 1023, 1024};
    static const uint64_t counters[] = {0, 5, 0xfffffff0u, 0x1fffffffau};
    const size_t max_n = 2 * WEFT_BLAKE3__MAX_WIDTH + 3;
    uint8_t *in = malloc(max_n * WEFT_BLAKE3_CHUNK_LEN);
    uint8_t ref[(2 * WEFT_BLAKE3__MAX_WIDTH + 3) * 32], got[sizeof ref];
    uint8_t inplace[(2 * WEFT_BLAKE3__MAX_WIDTH + 3) * 64];
    assert_non_null(in);
    tu_fill_random(in, max_n * WEFT_BLAKE3_CHUNK_LEN, 11);
    uint32_t key[8];
    for (int j = 0; j < 8; j++)
        key[j] = (uint32_t)(0x01010101u * (unsigned)(j + 1));
    const weft_blake3__kernel *ks[] = {
#if defined(__x86_64__) || defined(__i386__)
        &weft_blake3__kernel_avx2,
        &weft_blake3__kernel_avx512,
#endif
    };
    size_t tested = 0;
    for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) {
        if (blake3_use(ks[k]->name) != 0)
            continue;
        tested++;
        for (size_t n = 1; n <= max_n; n++) {
            for (size_t f = 0; f < 2; f++) {
                uint8_t flags = f ? WEFT_BLAKE3__KEYED_HASH : 0;
                for (size_t c = 0; c < sizeof counters / sizeof counters[0]; c++) {
                    for (size_t l = 0; l < sizeof last_lens / sizeof last_lens[0]; l++) {
                        weft_blake3__kernel_ref.hash_chunks(ref, in, n, last_lens[l], key,
                                                            counters[c], flags);
                        memset(got, 0, sizeof got);
                        weft_blake3__hash_chunks(ks[k], got, in, n, last_lens[l], key, counters[c],
                                                 flags);
                        blake3_expect(got, ref, 32 * n, "chunk cvs", ks[k]->name, n);
                        if (n <= ks[k]->width) {
                            memset(got, 0, sizeof got);
                            ks[k]->hash_chunks(got, in, n, last_lens[l], key, counters[c], flags);
                            blake3_expect(got, ref, 32 * n, "direct chunk cvs", ks[k]->name, n);
                        }
                    }
                }
                weft_blake3__kernel_ref.hash_parents(ref, in, n, key, flags);
                memset(got, 0, sizeof got);
                weft_blake3__hash_parents(ks[k], got, in, n, key, flags);
                blake3_expect(got, ref, 32 * n, "parent cvs", ks[k]->name, n);
                memcpy(inplace, in, 64 * n);
                weft_blake3__hash_parents(ks[k], inplace, inplace, n, key, flags);
                blake3_expect(inplace, ref, 32 * n, "parent cvs in place", ks[k]->name, n);
                if (n <= ks[k]->width) {
                    memcpy(inplace, in, 64 * n);
                    ks[k]->hash_parents(inplace, inplace, n, key, flags);
                    blake3_expect(inplace, ref, 32 * n, "direct parent cvs in place", ks[k]->name,
                                  n);
                }
            }
        }
    }
    weft_blake3__set_kernel(NULL);
    free(in);
    if (tested == 0)
        skip();
}

/* final() leaves the state alone: absorbing can go on, and finals agree with one-shot. */
static void test_crypto_blake3_final_keeps_state(void **state)
{
    (void)state;
    uint8_t in[5000], a[32], b[32], want[32];
    tu_fill_random(in, sizeof in, 12);
    weft_blake3 h;
    weft_blake3_init(&h);
    weft_blake3_update(&h, NULL, 0);
    weft_blake3_final(&h, a, sizeof a);
    weft_blake3_hash(want, NULL, 0);
    assert_memory_equal(a, want, 32);
    for (size_t done = 0; done < sizeof in;) {
        size_t take = done < 2048 ? 1024 : 333;
        if (take > sizeof in - done)
            take = sizeof in - done;
        weft_blake3_update(&h, in + done, take);
        done += take;
        weft_blake3_final(&h, a, sizeof a);
        weft_blake3_final(&h, b, sizeof b);
        assert_memory_equal(a, b, 32);
        weft_blake3_hash(want, in, done);
        blake3_expect(a, want, 32, "final mid-stream", weft_blake3_kernel(), done);
    }
    /* Plain and keyed differ; so do two keys. */
    uint8_t k1[32] = {0}, k2[32] = {0};
    k2[31] = 1;
    weft_blake3_keyed(a, k1, in, 100);
    weft_blake3_keyed(b, k2, in, 100);
    assert_memory_not_equal(a, b, 32);
    weft_blake3_hash(want, in, 100);
    assert_memory_not_equal(a, want, 32);
}

static void test_crypto_blake3_kernel_names(void **state)
{
    (void)state;
    assert_int_equal(weft_blake3__set_kernel("sse9"), WEFT_EINVALID);
    assert_int_equal(weft_blake3__set_kernel("ref"), 0);
    assert_string_equal(weft_blake3_kernel(), "ref");
    assert_int_equal(weft_blake3__set_kernel(NULL), 0);
    const char *k = weft_blake3_kernel();
    assert_true(strcmp(k, "ref") == 0 || strcmp(k, "avx2") == 0 || strcmp(k, "avx512") == 0);
    const char *env = getenv("WEFT_KERNEL");
    if (env != NULL && strcmp(env, "ref") == 0)
        assert_string_equal(k, "ref");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crypto_blake3_official_vectors),
        cmocka_unit_test(test_crypto_blake3_schedule_is_the_permutation),
        cmocka_unit_test(test_crypto_blake3_matches_b3sum),
        cmocka_unit_test(test_crypto_blake3_simd_matches_ref_every_length),
        cmocka_unit_test(test_crypto_blake3_simd_matches_ref_unaligned),
        cmocka_unit_test(test_crypto_blake3_xof_lengths),
        cmocka_unit_test(test_crypto_blake3_simd_kernels_match_ref),
        cmocka_unit_test(test_crypto_blake3_final_keeps_state),
        cmocka_unit_test(test_crypto_blake3_kernel_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
