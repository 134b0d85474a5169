// The media node's native egress: SRTP protection with one OpenSSL context per outgoing SRTP
// session (keys set once, a new IV per packet, no allocation) and UDP sends straight to the
// ICE-selected socket's file descriptor, queued and written with one sendmmsg per socket when the
// current fan-out ends. OpenSSL is Node's own (its headers ship with Node; its symbols are exported
// by the node binary), so nothing is linked in.
//
// JS API (media-node/src/egress/native-egress.ts wraps it):
//   createSender(profile, sessionKey, sessionSalt, authKey?) -> sender
//   setPath(sender, fd, host, port) -> bool
//   send(sender, payload, byte1, seq, timestamp, ssrc, roc, twccExtId, transportSeq) -> bytes | 0 | -1
//   protect(sender, out, byte1, seq, timestamp, ssrc, roc, twccExtId, transportSeq, payload) -> bytes (no send; tests)
//   flush() -> packets written;  closeSender(sender);  stats() -> {sent, dropped, errors, flushes, syscalls, lastErrno}
#include <node_api.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <algorithm>
#include <cstdint>

namespace {

constexpr uint32_t kAesCmHmacSha1_80 = 0x0001;
constexpr uint32_t kAeadAes128Gcm = 0x0007;
constexpr size_t kMaxBatch = 256;
// Room for the largest packet we protect here: 20-byte header + payload + 16-byte tag. Larger
// payloads (never seen from a browser, possible from a hostile publisher) go the JS way.
constexpr size_t kSlot = 1600;
constexpr size_t kMaxPayload = kSlot - 20 - 16;

struct Sender {
  uint32_t profile = 0;
  EVP_CIPHER_CTX* cipher = nullptr;
  HMAC_CTX* hmac = nullptr;
  uint8_t salt[14] = {0};
  int fd = -1;
  sockaddr_storage addr{};
  socklen_t addrLen = 0;
  bool closed = false;
};

struct Stats {
  double sent = 0, dropped = 0, errors = 0, flushes = 0, syscalls = 0;
  int lastErrno = 0;
};

struct Batch {
  uint8_t data[kMaxBatch][kSlot];
  size_t len[kMaxBatch];
  int fd[kMaxBatch];
  sockaddr_storage addr[kMaxBatch];
  socklen_t addrLen[kMaxBatch];
  uint16_t order[kMaxBatch];
  mmsghdr msgs[kMaxBatch];
  iovec iov[kMaxBatch];
  size_t count = 0;
  Stats stats;
};

void FreeSender(Sender* s) {
  if (s->closed) return;
  s->closed = true;
  if (s->cipher) EVP_CIPHER_CTX_free(s->cipher);
  if (s->hmac) HMAC_CTX_free(s->hmac);
  s->cipher = nullptr;
  s->hmac = nullptr;
}

void FinalizeSender(napi_env, void* data, void*) {
  auto* s = static_cast<Sender*>(data);
  FreeSender(s);
  delete s;
}

void FinalizeBatch(napi_env, void* data, void*) { delete static_cast<Batch*>(data); }

Batch* GetBatch(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<Batch*>(data);
}

napi_value Throw(napi_env env, const char* message) {
  napi_throw_type_error(env, nullptr, message);
  return nullptr;
}

napi_value Number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

bool GetU32(napi_env env, napi_value v, uint32_t* out) { return napi_get_value_uint32(env, v, out) == napi_ok; }

Sender* GetSender(napi_env env, napi_value v) {
  void* data = nullptr;
  if (napi_get_value_external(env, v, &data) != napi_ok || !data) return nullptr;
  auto* s = static_cast<Sender*>(data);
  return s->closed ? nullptr : s;
}

bool GetBuffer(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  void* d = nullptr;
  if (napi_get_buffer_info(env, v, &d, len) != napi_ok) return false;
  *data = static_cast<uint8_t*>(d);
  return true;
}

inline void Put16(uint8_t* p, uint32_t v) { p[0] = v >> 8; p[1] = v; }
inline void Put32(uint8_t* p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

size_t TagLength(const Sender* s) { return s->profile == kAeadAes128Gcm ? 16 : 10; }

// Writes the RTP header (with a one-word transport-wide-cc extension when extId != 0), encrypts the
// payload after it and appends the tag. Returns the packet length, or 0 if OpenSSL failed.
size_t Protect(Sender* s, uint8_t* out, uint32_t byte1, uint32_t seq, uint32_t timestamp, uint32_t ssrc, uint32_t roc, uint32_t extId,
               uint32_t transportSeq, const uint8_t* payload, size_t payloadLen) {
  const size_t headerLen = extId ? 20 : 12;
  out[0] = extId ? 0x90 : 0x80;
  out[1] = byte1;
  Put16(out + 2, seq);
  Put32(out + 4, timestamp);
  Put32(out + 8, ssrc);
  if (extId) {
    // RFC 8285 one-byte form: 0xBEDE, one word: [id | len-1] seq(2) padding(1).
    out[12] = 0xbe; out[13] = 0xde; out[14] = 0; out[15] = 1;
    out[16] = (extId << 4) | 1;
    Put16(out + 17, transportSeq);
    out[19] = 0;
  }
  int n = 0;
  uint8_t iv[16] = {0};
  if (s->profile == kAeadAes128Gcm) {
    // RFC 7714 §8.1: 00 00 || SSRC || ROC || SEQ, XOR the 12-byte salt.
    Put32(iv + 2, ssrc); Put32(iv + 6, roc); Put16(iv + 10, seq);
    for (int i = 0; i < 12; i++) iv[i] ^= s->salt[i];
    int fin = 0;
    if (EVP_EncryptInit_ex(s->cipher, nullptr, nullptr, nullptr, iv) != 1) return 0;
    if (EVP_EncryptUpdate(s->cipher, nullptr, &n, out, static_cast<int>(headerLen)) != 1) return 0;
    if (EVP_EncryptUpdate(s->cipher, out + headerLen, &n, payload, static_cast<int>(payloadLen)) != 1) return 0;
    if (EVP_EncryptFinal_ex(s->cipher, out + headerLen + n, &fin) != 1) return 0;
    const size_t end = headerLen + n + fin;
    if (EVP_CIPHER_CTX_ctrl(s->cipher, EVP_CTRL_GCM_GET_TAG, 16, out + end) != 1) return 0;
    return end + 16;
  }
  // RFC 3711 §4.1.1: (salt << 16) XOR (SSRC << 64) XOR (index << 16), index = ROC || SEQ.
  Put32(iv + 4, ssrc); Put32(iv + 8, roc); Put16(iv + 12, seq);
  for (int i = 0; i < 14; i++) iv[i] ^= s->salt[i];
  if (EVP_EncryptInit_ex(s->cipher, nullptr, nullptr, nullptr, iv) != 1) return 0;
  if (EVP_EncryptUpdate(s->cipher, out + headerLen, &n, payload, static_cast<int>(payloadLen)) != 1) return 0;
  const size_t end = headerLen + n;
  uint8_t rocBytes[4];
  Put32(rocBytes, roc);
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned macLen = 0;
  if (HMAC_Init_ex(s->hmac, nullptr, 0, nullptr, nullptr) != 1) return 0;
  if (HMAC_Update(s->hmac, out, end) != 1 || HMAC_Update(s->hmac, rocBytes, 4) != 1) return 0;
  if (HMAC_Final(s->hmac, mac, &macLen) != 1) return 0;
  memcpy(out + end, mac, 10);
  return end + 10;
}

// Sends everything queued: per socket, its packets in queue order, one sendmmsg each.
size_t Flush(Batch* b) {
  const size_t count = b->count;
  if (count == 0) return 0;
  b->count = 0;
  b->stats.flushes++;
  for (size_t i = 0; i < count; i++) b->order[i] = static_cast<uint16_t>(i);
  std::stable_sort(b->order, b->order + count, [b](uint16_t x, uint16_t y) { return b->fd[x] < b->fd[y]; });
  size_t written = 0;
  size_t at = 0;
  while (at < count) {
    const int fd = b->fd[b->order[at]];
    size_t end = at;
    while (end < count && b->fd[b->order[end]] == fd) {
      const uint16_t k = b->order[end];
      const size_t m = end - at;
      b->iov[m].iov_base = b->data[k];
      b->iov[m].iov_len = b->len[k];
      memset(&b->msgs[m], 0, sizeof(mmsghdr));
      b->msgs[m].msg_hdr.msg_name = &b->addr[k];
      b->msgs[m].msg_hdr.msg_namelen = b->addrLen[k];
      b->msgs[m].msg_hdr.msg_iov = &b->iov[m];
      b->msgs[m].msg_hdr.msg_iovlen = 1;
      end++;
    }
    size_t done = 0;
    const size_t total = end - at;
    while (done < total) {
      b->stats.syscalls++;
      const int r = sendmmsg(fd, b->msgs + done, static_cast<unsigned>(total - done), MSG_DONTWAIT);
      if (r > 0) {
        done += r;
        written += r;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      // The packet at `done` was refused: a full socket buffer is a drop, as on a congested link;
      // anything else (a socket closed under us) an error. Either way the rest is tried.
      b->stats.lastErrno = r < 0 ? errno : 0;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) b->stats.dropped++;
      else b->stats.errors++;
      done++;
    }
    at = end;
  }
  b->stats.sent += written;
  return written;
}

napi_value CreateSender(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint32_t profile = 0;
  uint8_t *key, *salt, *auth = nullptr;
  size_t keyLen, saltLen, authLen = 0;
  if (argc < 3 || !GetU32(env, argv[0], &profile) || !GetBuffer(env, argv[1], &key, &keyLen) || !GetBuffer(env, argv[2], &salt, &saltLen))
    return Throw(env, "createSender(profile, sessionKey, sessionSalt, authKey?)");
  if (keyLen != 16) return Throw(env, "session key must be 16 bytes");
  if (profile == kAesCmHmacSha1_80) {
    if (saltLen < 14) return Throw(env, "AES-CM session salt must be 14 bytes");
    if (argc < 4 || !GetBuffer(env, argv[3], &auth, &authLen) || authLen != 20) return Throw(env, "AES-CM needs a 20-byte auth key");
  } else if (profile == kAeadAes128Gcm) {
    // werift derives 14 bytes for either profile; GCM uses the first 12 (RFC 7714 §12).
    if (saltLen < 12) return Throw(env, "AES-GCM session salt must be 12 bytes");
  } else {
    return Throw(env, "unsupported SRTP profile");
  }
  auto* s = new Sender();
  s->profile = profile;
  memcpy(s->salt, salt, profile == kAeadAes128Gcm ? 12 : 14);
  s->cipher = EVP_CIPHER_CTX_new();
  bool ok = s->cipher && EVP_EncryptInit_ex(s->cipher, profile == kAeadAes128Gcm ? EVP_aes_128_gcm() : EVP_aes_128_ctr(), nullptr, key, nullptr) == 1;
  if (ok && profile == kAesCmHmacSha1_80) {
    s->hmac = HMAC_CTX_new();
    ok = s->hmac && HMAC_Init_ex(s->hmac, auth, static_cast<int>(authLen), EVP_sha1(), nullptr) == 1;
  }
  if (!ok) {
    FreeSender(s);
    delete s;
    return Throw(env, "OpenSSL refused the SRTP keys");
  }
  napi_value out;
  napi_create_external(env, s, FinalizeSender, nullptr, &out);
  return out;
}

napi_value SetPath(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Sender* s = argc == 4 ? GetSender(env, argv[0]) : nullptr;
  int32_t fd = -1;
  uint32_t port = 0;
  char host[64] = {0};
  size_t hostLen = 0;
  if (!s || napi_get_value_int32(env, argv[1], &fd) != napi_ok || fd < 0 || napi_get_value_string_utf8(env, argv[2], host, sizeof host, &hostLen) != napi_ok ||
      !GetU32(env, argv[3], &port) || port == 0 || port > 65535)
    return Throw(env, "setPath(sender, fd, host, port)");
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  }
  // Only ever a UDP socket: a stale descriptor reused by a TCP connection must never get media.
  int type = 0;
  socklen_t typeLen = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &typeLen) != 0 || type != SOCK_DGRAM) len = 0;
  napi_value result;
  napi_get_boolean(env, len != 0, &result);
  if (len == 0) return result;  // not an IP literal or not a UDP socket: the caller keeps the JS path
  s->fd = fd;
  s->addr = addr;
  s->addrLen = len;
  return result;
}

struct PacketArgs {
  Sender* sender;
  uint32_t byte1, seq, timestamp, ssrc, roc, extId, transportSeq;
  uint8_t* payload;
  size_t payloadLen;
};

// Reads (sender, payload, byte1, seq, timestamp, ssrc, roc, extId, transportSeq) from argv[offset...].
bool ReadPacketArgs(napi_env env, napi_value* argv, PacketArgs* a) {
  a->sender = GetSender(env, argv[0]);
  return a->sender && GetBuffer(env, argv[1], &a->payload, &a->payloadLen) && GetU32(env, argv[2], &a->byte1) && GetU32(env, argv[3], &a->seq) &&
         GetU32(env, argv[4], &a->timestamp) && GetU32(env, argv[5], &a->ssrc) && GetU32(env, argv[6], &a->roc) && GetU32(env, argv[7], &a->extId) &&
         GetU32(env, argv[8], &a->transportSeq) && a->byte1 <= 0xff && a->seq <= 0xffff && a->extId <= 14 && a->transportSeq <= 0xffff;
}

napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  PacketArgs a;
  if (argc != 9 || !ReadPacketArgs(env, argv, &a)) return Throw(env, "send(sender, payload, byte1, seq, timestamp, ssrc, roc, twccExtId, transportSeq)");
  if (a.payloadLen > kMaxPayload) return Number(env, -1);
  if (a.sender->fd < 0) return Number(env, 0);
  Batch* b = GetBatch(env);
  if (b->count == kMaxBatch) Flush(b);
  const size_t k = b->count;
  const size_t len = Protect(a.sender, b->data[k], a.byte1, a.seq, a.timestamp, a.ssrc, a.roc, a.extId, a.transportSeq, a.payload, a.payloadLen);
  if (len == 0) return Throw(env, "SRTP protection failed");
  b->len[k] = len;
  b->fd[k] = a.sender->fd;
  b->addr[k] = a.sender->addr;
  b->addrLen[k] = a.sender->addrLen;
  b->count = k + 1;
  return Number(env, static_cast<double>(len));
}

napi_value ProtectOnly(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  PacketArgs a;
  uint8_t* out;
  size_t outLen;
  if (argc != 10 || !ReadPacketArgs(env, argv, &a) || !GetBuffer(env, argv[9], &out, &outLen))
    return Throw(env, "protect(sender, payload, byte1, seq, timestamp, ssrc, roc, twccExtId, transportSeq, out)");
  if (outLen < (a.extId ? 20 : 12) + a.payloadLen + TagLength(a.sender)) return Throw(env, "output buffer too small");
  const size_t len = Protect(a.sender, out, a.byte1, a.seq, a.timestamp, a.ssrc, a.roc, a.extId, a.transportSeq, a.payload, a.payloadLen);
  if (len == 0) return Throw(env, "SRTP protection failed");
  return Number(env, static_cast<double>(len));
}

napi_value FlushJs(napi_env env, napi_callback_info) { return Number(env, static_cast<double>(Flush(GetBatch(env)))); }

napi_value Pending(napi_env env, napi_callback_info) { return Number(env, static_cast<double>(GetBatch(env)->count)); }

napi_value CloseSender(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  void* data = nullptr;
  if (argc == 1 && napi_get_value_external(env, argv[0], &data) == napi_ok && data) {
    // Packets already queued for it still go out: they were protected with its keys already.
    FreeSender(static_cast<Sender*>(data));
  }
  return nullptr;
}

napi_value StatsJs(napi_env env, napi_callback_info) {
  const Stats& st = GetBatch(env)->stats;
  napi_value out;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "sent", Number(env, st.sent));
  napi_set_named_property(env, out, "dropped", Number(env, st.dropped));
  napi_set_named_property(env, out, "errors", Number(env, st.errors));
  napi_set_named_property(env, out, "flushes", Number(env, st.flushes));
  napi_set_named_property(env, out, "syscalls", Number(env, st.syscalls));
  napi_set_named_property(env, out, "lastErrno", Number(env, st.lastErrno));
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_set_instance_data(env, new Batch(), FinalizeBatch, nullptr);
  napi_property_descriptor props[] = {
      {"createSender", nullptr, CreateSender, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setPath", nullptr, SetPath, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"send", nullptr, Send, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"protect", nullptr, ProtectOnly, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"flush", nullptr, FlushJs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pending", nullptr, Pending, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"closeSender", nullptr, CloseSender, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"stats", nullptr, StatsJs, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
