"""The tables: exploratory analysis of tidy case tables and classical models on the UCI sets.

``eda`` (correlations, class-wise distributions, PCA biplots, the numbers behind a claim about
a feature; chapters 01 and 03) and ``classical`` (the UCI tasks, preprocessing, nested
cross-validation of the classical classifiers; chapter 02).
"""
