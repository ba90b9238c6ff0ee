//! Tests of the flow layer (reassembly orders, overlaps, limits, eviction).
