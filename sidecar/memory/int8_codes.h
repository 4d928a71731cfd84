// Int8 codes of vectors, for navigating the HNSW graph.
//
// Inserting into HNSW is mostly inner products (the search for neighbours), and at dim 384 a float
// vector is 24 cache lines read from a random place. The graph keeps a code instead: one float
// scale and the components rounded to int8 (max |x| maps to 127), a quarter of the bytes and a
// quarter of the multiply-adds. The graph only chooses candidates; every score a caller sees is
// re-computed in float from the flat array, so the codes cost a little recall at most, never a
// wrong score.
#pragma once

#include <cstddef>
#include <cstdint>

namespace agentry::memory {

// Bytes of one code: the scale, then dim int8 components padded with zeros to a multiple of 32.
size_t int8_code_bytes(int dim);
// Writes v's code to out (int8_code_bytes(dim) bytes, any alignment).
void int8_encode(const float* v, int dim, void* out);
// The inner product of the vectors two codes were made from, approximately.
float int8_dot(const void* a, const void* b, int dim);
// 1 - int8_dot as hnswlib calls a distance: `dim` points to an int. The best variant for this CPU
// (AVX2 or portable), chosen once, so the graph's hot loop makes one call per distance.
using Int8Distance = float (*)(const void* a, const void* b, const void* dim);
Int8Distance int8_distance();

}  // namespace agentry::memory
