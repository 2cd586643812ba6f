//! NMF solvers, initialisations, losses and SVD/PCA.
