{
  # The convolution kernels (kernels.cc) built once per instruction set into static libraries,
  # and the addon that picks one at load (addon.cc). -ffp-contract=off: no fused multiply-add,
  # so every build rounds as wasm does.
  "target_defaults": {
    "cflags_cc": ["-O3", "-std=c++17", "-ffp-contract=off", "-fno-fast-math"],
    "cflags_cc!": ["-O2", "-O0", "-fno-exceptions"],
    "cflags_cc+": ["-fexceptions"],
    "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17", "-ffp-contract=off"], "GCC_ENABLE_CPP_EXCEPTIONS": "YES"}
  },
  "targets": [
    {
      "target_name": "kernels_baseline",
      "type": "static_library",
      "sources": ["kernels.cc"],
      "defines": ["LENET_ISA=baseline"],
      "cflags": ["-fPIC"]
    },
    {
      "target_name": "lenet_native",
      "sources": ["addon.cc"],
      "dependencies": ["kernels_baseline"],
      "conditions": [
        ["target_arch=='x64' and OS!='win'", {"dependencies": ["kernels_avx2", "kernels_avx512"]}]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64' and OS!='win'", {
      "targets": [
        {
          "target_name": "kernels_avx2",
          "type": "static_library",
          "sources": ["kernels.cc"],
          "defines": ["LENET_ISA=avx2"],
          "cflags": ["-fPIC"],
          "cflags_cc": ["-mavx2"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx2"]}
        },
        {
          "target_name": "kernels_avx512",
          "type": "static_library",
          "sources": ["kernels.cc"],
          "defines": ["LENET_ISA=avx512"],
          "cflags": ["-fPIC"],
          "cflags_cc": ["-mavx512f"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx512f"]}
        }
      ]
    }]
  ]
}
