//! Generated Huffman tables (placeholder until the generator runs).
