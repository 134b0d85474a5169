{
  "targets": [
    {
      "target_name": "sfu_egress",
      "sources": ["egress.cc"],
      "cflags_cc": ["-O2", "-std=c++17", "-fno-exceptions", "-Wall", "-Wno-deprecated-declarations"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
