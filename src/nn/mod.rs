//! Float networks: the layer IR, RON I/O, float inference, training and data sets.
