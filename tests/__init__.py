"""nnviz's tests, laid out as the package is (tests/<package>/test_<module>.py); a package so that its
folders (tests.datasets, …) never stand in for installed packages of the same name."""
