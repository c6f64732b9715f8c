"""scintiseg.train"""
