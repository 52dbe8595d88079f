#include "core/msgpack_pack.h"

namespace rill {

namespace {

void pack_into(packer& pk, const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      pk.pack_nil();
      break;
    case msgpack::type::BOOLEAN:
      if (o.via.boolean) {
        pk.pack_true();
      } else {
        pk.pack_false();
      }
      break;
    case msgpack::type::POSITIVE_INTEGER:
      pk.pack_uint64(o.via.u64);
      break;
    case msgpack::type::NEGATIVE_INTEGER:
      pk.pack_int64(o.via.i64);
      break;
    case msgpack::type::FLOAT32:
      pk.pack_float(static_cast<float>(o.via.f64));
      break;
    case msgpack::type::FLOAT64:
      pk.pack_double(o.via.f64);
      break;
    case msgpack::type::STR:
      pk.pack_str(o.via.str.size);
      pk.pack_str_body(o.via.str.ptr, o.via.str.size);
      break;
    case msgpack::type::BIN:
      pk.pack_bin(o.via.bin.size);
      pk.pack_bin_body(o.via.bin.ptr, o.via.bin.size);
      break;
    case msgpack::type::EXT:
      pk.pack_ext(o.via.ext.size, o.via.ext.type());
      pk.pack_ext_body(o.via.ext.data(), o.via.ext.size);
      break;
    case msgpack::type::ARRAY: {
      pk.pack_array(o.via.array.size);
      const msgpack::object* it = o.via.array.ptr;
      for (const msgpack::object* end = it + o.via.array.size; it != end; ++it) pack_into(pk, *it);
      break;
    }
    case msgpack::type::MAP: {
      pk.pack_map(o.via.map.size);
      const msgpack::object_kv* it = o.via.map.ptr;
      for (const msgpack::object_kv* end = it + o.via.map.size; it != end; ++it) {
        pack_into(pk, it->key);
        pack_into(pk, it->val);
      }
      break;
    }
    default:
      pk.pack_nil();  // not a MessagePack type: never produced by a decoder
      break;
  }
}

}  // namespace

void pack_object(out_buffer& out, const msgpack::object& o) {
  packer pk(out);
  pack_into(pk, o);
}

}  // namespace rill
