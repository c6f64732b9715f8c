"""scintiseg.experiments"""
