#pragma once
// The one include of msgpack-c in rill. Everything that needs msgpack::object,
// msgpack::zone or msgpack::packer includes this header, so the library's
// configuration (MSGPACK_NO_BOOST, set globally by CMake) is the same everywhere.
#include <msgpack.hpp>
